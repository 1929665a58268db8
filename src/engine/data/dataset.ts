// The dataset contract every source (IDX, .npy/.npz, ImageFolder) implements.
// Samples come out preprocessed, float32, in the model's layout (NCHW), a batch at a time, so a dataset
// larger than memory streams.

export interface Batch {
  /** Preprocessed samples, C order, shape [count, ...sampleShape]. */
  x: Float32Array;
  /** [count, ...sampleShape] */
  shape: number[];
  /** Class index per sample, or null when the dataset has no labels. */
  labels: Int32Array | null;
  /** Index of the first sample of this batch in the dataset. */
  start: number;
}

export interface Dataset {
  /** Stable identity of the data and its preprocessing (paths, sizes, mtimes, settings): a cache key. */
  readonly identity: string;
  /** Human-readable description, e.g. "IDX t10k-images-idx3-ubyte.gz (10000 × 1×28×28)". */
  readonly description: string;
  /** Number of samples. */
  readonly length: number;
  /** Shape of one preprocessed sample, e.g. [1, 28, 28]. */
  readonly sampleShape: number[];
  readonly hasLabels: boolean;
  /** Class names where the source has them (ImageFolder folders, replens.json). */
  readonly classNames?: string[];
  /**
   * How model input maps back to pixel units: input = (pixel − mean)/std per channel; `clip` is the valid pixel
   * range ([0, 1] for 8-bit sources after ToTensor), null when unknown. Noise in pixel units uses it.
   */
  readonly pixelSpace?: { mean: number[]; std: number[]; layout: 'NCHW' | 'NHWC'; clip: [number, number] | null };
  /**
   * Images left out because they could not be read (dataset.skipUnreadable), filled in as batches are read: a
   * skipped image is dropped with its label, so batches after it are shorter (`start` still counts every file).
   */
  readonly skipped?: readonly { file: string; reason: string }[];
  /** What the user should know about the data for a run, e.g. a limit beyond the dataset's size. */
  readonly notes?: readonly string[];
  /** Streams batches in order; stops early (throwing a ReplensError 'E_CANCELLED') when the signal aborts. */
  batches(batchSize: number, opts?: { signal?: AbortSignal; start?: number; end?: number }): AsyncIterable<Batch>;
  close?(): Promise<void>;
}

export type DatasetFormat = 'idx' | 'npy' | 'npz' | 'imagefolder';

/** Where the samples come from: the `dataset` block of replens.json (paths already resolved). */
export interface DatasetSpec {
  path: string;
  /** Inferred from the path when absent: folder → imagefolder, .npz, .npy, else IDX by name or magic bytes. */
  format?: DatasetFormat;
  /** Labels file: IDX for idx, .npy for npy/npz (overrides the npz `y` entry). */
  labels?: string;
  /** .npz entry holding the samples (default `x`, else `images`, else `inputs`). */
  x?: string;
  /** .npz entry holding the labels (default `y`, else `labels`, else `targets`). */
  y?: string;
  /** Use only the first N samples. */
  limit?: number;
  /** ImageFolder: leave out images that cannot be read or decoded, naming them, instead of failing the run. */
  skipUnreadable?: boolean;
  /** Layout of 4-D arrays as stored. Absent: IDX is NHWC; .npy/.npz are inferred (see `arrayGeometry` in source.ts). */
  layout?: 'NCHW' | 'NHWC';
}
