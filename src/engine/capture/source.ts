// The dataset of a job: the --data options layered over replens.json (given, or found next to the data). When the
// config's own dataset is the one named, its labels, npz keys and layout apply unless the job overrides them.
import * as fs from 'fs';
import * as path from 'path';
import type { Dataset, DatasetSpec } from '../data/dataset';
import { openDataset } from '../data/open';
import { findConfig, loadConfig } from '../data/config';
import type { Dim } from '../onnx/graph';
import type { ActivationsJob } from '../../shared/messages';

export async function openDatasetFromJob(job: Pick<ActivationsJob, 'data' | 'configPath'>, modelInputShape: Dim[] | null): Promise<Dataset> {
  const data = job.data!;
  const dataPath = path.resolve(data.path);
  let start = dataPath;
  try { if (!fs.statSync(dataPath).isDirectory()) start = path.dirname(dataPath); } catch { start = path.dirname(dataPath); }
  const configFile = job.configPath ?? findConfig(start);
  const config = configFile ? loadConfig(configFile) : undefined;
  const same = config?.dataset && path.resolve(config.dataset.path) === dataPath ? config.dataset : undefined;
  const spec: DatasetSpec = {
    ...(same ?? {}),
    path: dataPath,
    ...(data.format ? { format: data.format } : {}),
    ...(data.labels ? { labels: path.resolve(data.labels) } : {}),
    ...(data.limit ? { limit: data.limit } : {}),
  };
  return openDataset(spec, { preprocess: config?.preprocess, modelInputShape: modelInputShape?.map((d) => d ?? '?'), classNames: config?.classNames });
}
