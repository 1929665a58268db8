// The dataset of a job: the --data options layered over replens.json (given, or found from the data up to the root
// of its project: configFor). When the config's own dataset is the one named, its labels, npz keys and layout apply
// unless the job overrides them.
import * as path from 'path';
import type { Dataset, DatasetSpec } from '../data/dataset';
import { openDataset } from '../data/open';
import { configFor, loadConfig } from '../data/config';
import type { Dim } from '../onnx/graph';
import type { ActivationsJob } from '../../shared/messages';

/** ONNX element types of integer image inputs (uint8, int8, uint16, int16, int32, int64). */
export const INTEGER_INPUTS = new Set([2, 3, 4, 5, 6, 7]);

export async function openDatasetFromJob(
  job: Pick<ActivationsJob, 'data' | 'configPath' | 'configRoot' | 'memoryBudgetMB'>,
  modelInputShape: Dim[] | null,
  log?: (line: string) => void,
  modelInputType?: number,
): Promise<Dataset> {
  const data = job.data!;
  const dataPath = path.resolve(data.path);
  const configFile = configFor(job.configPath, dataPath, { stopAt: job.configRoot, log });
  const config = configFile ? loadConfig(configFile) : undefined;
  const same = config?.dataset && path.resolve(config.dataset.path) === dataPath ? config.dataset : undefined;
  const spec: DatasetSpec = {
    ...(same ?? {}),
    path: dataPath,
    ...(data.format ? { format: data.format } : {}),
    ...(data.labels ? { labels: path.resolve(data.labels) } : {}),
    ...(data.limit ? { limit: data.limit } : {}),
    ...(data.skipUnreadable !== undefined ? { skipUnreadable: data.skipUnreadable } : {}),
  };
  return openDataset(spec, {
    preprocess: config?.preprocess,
    modelInputShape: modelInputShape?.map((d) => d ?? '?'),
    classNames: config?.classNames,
    modelInputType: modelInputType !== undefined && INTEGER_INPUTS.has(modelInputType) ? 'integer' : 'float',
    // Data read whole (IDX, .npz, labels) and decoded images are checked against the budget before allocating.
    memoryBudgetMB: job.memoryBudgetMB ?? config?.memoryBudgetMB,
  });
}
