// encode-worker.mjs -- the page's encoder, in a worker so that the page
// keeps painting its progress bar while the encoder runs (seconds):
// receives {encoderUrl, rgb, width, height, maxSide, simd}, posts
// {progress} as it goes and {iff} (the feature file's bytes) or {error}.
import { loadInterFormer } from './interformer.mjs';

self.onmessage = async (e) => {
  const { encoderUrl, rgb, width, height, maxSide, simd } = e.data;
  try {
    const IF = await loadInterFormer({ simd });
    const enc = IF.loadModel(await (await fetch(encoderUrl)).arrayBuffer());
    const feat = IF.encode(enc, rgb, width, height, {
      maxSide,
      onProgress: (f) => {
        self.postMessage({ progress: f });
        return false;
      },
    });
    const iff = feat.save();
    feat.free();
    enc.free();
    self.postMessage({ iff }, [iff.buffer]);
  } catch (err) {
    self.postMessage({ error: String(err && err.message ? err.message : err) });
  }
};
