/**
 * A faster `Conv2DBackpropInput` (the input gradient of a convolution) for the tfjs wasm backend.
 *
 * tfjs-backend-wasm 4.22 ships Conv2DBackpropInput as a plain scalar C++ loop, while its forward
 * Conv2D runs on XNNPACK (SIMD, im2col-free); in our laundry training the input gradient took about
 * three quarters of every step. The input gradient of a convolution is itself a convolution:
 *
 *   dx[n, i, j, ci] = Σ_{kh,kw,co} dyDilated[n, i + pt − kh, j + pl − kw, co] · w[kh, kw, ci, co]
 *
 * i.e. a stride-1 'valid' correlation of dy — dilated by the stride (s − 1 zeros between entries)
 * and padded by (k − 1 − p) — with the kernel flipped spatially and its in/out channels swapped.
 * This kernel computes exactly that with Pad/Reshape/Slice/Reverse/Transpose/Conv2D, which the wasm
 * backend all has (Conv2D through XNNPACK). Dilated forward convolutions (dilation > 1) never reach
 * this kernel: tfjs' Conv2D gradient requires dilation 1.
 */
import type * as TfModule from '@tensorflow/tfjs';

type Tf = typeof import('@tensorflow/tfjs');

/**
 * dx of a conv2d (NHWC, dilation 1) from dy and the filter, composed from forward ops.
 * Exported for tests; must be called with tensors on the active backend.
 */
export function conv2DBackpropInputComposite(
  tf: Tf,
  dy: TfModule.Tensor4D,
  filter: TfModule.Tensor4D,
  inputShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: TfModule.Conv2DBackpropInputAttrs['pad'],
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): TfModule.Tensor4D {
  const [kh, kw, inC, outC] = filter.shape;
  if (inputShape[3] !== inC) {
    throw new Error(`Conv2DBackpropInput: inputShape has ${inputShape[3]} channels but the filter expects ${inC}`);
  }
  if (dy.shape[3] !== outC) throw new Error(`Conv2DBackpropInput: dy has ${dy.shape[3]} channels but the filter has ${outC}`);
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  if (dy.shape[1] !== oh || dy.shape[2] !== ow) {
    throw new Error(`Conv2DBackpropInput: dy spatial shape ${dy.shape[1]}x${dy.shape[2]} does not match the forward output ${oh}x${ow}`);
  }
  const [n, h, w] = inputShape;
  const { top: pt, left: pl } = info.padInfo;
  return tf.tidy(() => {
    let d: TfModule.Tensor4D = dy;
    // Dilate by the strides: [n, oh, ow, c] → [n, oh, 1, ow, 1, c] → pad → [n, oh·sh, ow·sw, c].
    if (sh > 1 || sw > 1) {
      const e = tf.reshape(d, [n, oh, 1, ow, 1, outC]);
      const p = tf.pad(e, [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ]);
      d = tf.reshape(p, [n, oh * sh, ow * sw, outC]);
      // The trailing zeros after the last row/column are handled by the padding below.
      d = tf.slice(d, [0, 0, 0, 0], [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, outC]);
    }
    // dx[i] reads d[i + pt − (kh − 1) … i + pt]: pad (or crop) so that row i of a 'valid' kh-conv
    // starts at d row i + pt − kh + 1, and the output is exactly h × w.
    const dh = d.shape[1];
    const dw = d.shape[2];
    const top = kh - 1 - pt;
    const left = kw - 1 - pl;
    const bottom = h - 1 + pt - (dh - 1);
    const right = w - 1 + pl - (dw - 1);
    if (top > 0 || bottom > 0 || left > 0 || right > 0) {
      d = tf.pad(d, [
        [0, 0],
        [Math.max(0, top), Math.max(0, bottom)],
        [Math.max(0, left), Math.max(0, right)],
        [0, 0],
      ]);
    }
    if (top < 0 || bottom < 0 || left < 0 || right < 0) {
      const t0 = Math.max(0, -top);
      const l0 = Math.max(0, -left);
      d = tf.slice(d, [0, t0, l0, 0], [n, d.shape[1] - t0 - Math.max(0, -bottom), d.shape[2] - l0 - Math.max(0, -right), outC]);
    }
    // Flip spatially and swap in/out channels: [kh, kw, ci, co] → [kh, kw, co, ci].
    const wt = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as TfModule.Tensor4D;
    return tf.conv2d(d, wt, 1, 'valid');
  });
}

/**
 * Replaces the wasm backend's `Conv2DBackpropInput` with the composite above (NHWC only; the
 * original kernel is kept for NCHW). Idempotent.
 */
export function registerConv2DBackpropInputForWasm(tf: Tf): void {
  const existing = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (existing && (existing.kernelFunc as { edgeloopComposite?: boolean }).edgeloopComposite) return;
  const original = existing?.kernelFunc;
  const kernelFunc: TfModule.KernelFunc & { edgeloopComposite?: boolean } = (args) => {
    const { inputs, attrs } = args;
    const a = attrs as unknown as TfModule.Conv2DBackpropInputAttrs;
    if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') {
      if (original) return original(args);
      throw new Error(`Conv2DBackpropInput (wasm composite): dataFormat '${a.dataFormat}' is not supported, use NHWC`);
    }
    const dyInfo = inputs.dy;
    const filterInfo = inputs.filter;
    if (dyInfo === undefined || filterInfo === undefined) throw new Error('Conv2DBackpropInput (wasm composite): inputs dy and filter are required');
    const wrapped: TfModule.Tensor[] = [];
    const asTensor = (t: TfModule.TensorInfo): TfModule.Tensor4D => {
      if (t instanceof tf.Tensor) return t as TfModule.Tensor4D;
      const w = tf.engine().makeTensorFromTensorInfo(t);
      wrapped.push(w);
      return w as TfModule.Tensor4D;
    };
    try {
      return conv2DBackpropInputComposite(tf, asTensor(dyInfo), asTensor(filterInfo), a.inputShape, a.strides, a.pad, a.dimRoundingMode);
    } finally {
      for (const w of wrapped) w.dispose();
    }
  };
  kernelFunc.edgeloopComposite = true;
  if (existing) tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel({ kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc });
}
