// The dataset of a job: the --data options layered over replens.json (given, or found next to the data).
import * as fs from 'fs';
import * as path from 'path';
import type { Dataset } from '../data/dataset';
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
  return openDataset(
    { path: dataPath, format: data.format, labels: data.labels ? path.resolve(data.labels) : undefined, limit: data.limit },
    { preprocess: config?.preprocess, modelInputShape: modelInputShape?.map((d) => d ?? '?') ?? undefined, classNames: config?.classNames },
  );
}
