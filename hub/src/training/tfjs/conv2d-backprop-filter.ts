/**
 * Training-gradient kernels that the tfjs wasm backend (4.22) does not ship, composed from kernels
 * it does have.
 *
 * tfjs-backend-wasm registers Conv2D, Conv2DBackpropInput, FusedConv2D, MaxPoolGrad, AvgPoolGrad,
 * Step, _FusedMatMul, … but NOT `Conv2DBackpropFilter` (tensorflow/tfjs#8474), so `tf.grad` / `model.fit`
 * of anything with a conv layer fails with "Kernel 'Conv2DBackpropFilter' not registered for backend
 * 'wasm'". `WASM_TRAINING_KERNELS` lists what training our CNNs needs; `findMissingKernels` checks it.
 */
import type * as TfModule from '@tensorflow/tfjs';

type Tf = typeof import('@tensorflow/tfjs');

/**
 * Kernels that fitting our networks uses, recorded with `tf.profile` on tfjs 4.22: conv → relu →
 * max/avg pool → conv (stride 1 and 2) → relu → global average pool → dense → softmax with `model.fit`
 * + adam + accuracy metric, and an embedder (same blocks + dense + L2 normalisation) trained with
 * `tf.train.adam().minimize`. FusedConv2D is added because converted/inference graphs use it.
 * Of these, wasm 4.22 lacks only Conv2DBackpropFilter (registered below). Other gradient kernels
 * wasm lacks, not needed by these networks: DepthwiseConv2dNativeBackpropFilter/Input.
 */
export const WASM_TRAINING_KERNELS: readonly string[] = [
  'Abs', 'Add', 'ArgMax', 'AvgPool', 'AvgPoolGrad', 'BatchMatMul', 'Cast', 'ClipByValue', 'Conv2D',
  'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Equal', 'Exp', 'FusedConv2D', 'GatherV2',
  'GreaterEqual', 'Identity', 'LessEqual', 'Log', 'LogicalAnd', 'Max', 'MaxPool', 'MaxPoolGrad',
  'Maximum', 'Mean', 'Multiply', 'Neg', 'PadV2', 'Pow', 'RealDiv', 'Relu', 'Reshape', 'Select',
  'Slice', 'Softmax', 'Sqrt', 'Square', 'Step', 'Sub', 'Sum', 'Transpose', 'ZerosLike', '_FusedMatMul',
];

/** Names from `kernelNames` (default WASM_TRAINING_KERNELS) that have no kernel registered for `backendName`. */
export function findMissingKernels(
  tf: Tf,
  backendName: string,
  kernelNames: readonly string[] = WASM_TRAINING_KERNELS,
): string[] {
  return kernelNames.filter((name) => tf.getKernel(name, backendName) === undefined);
}

type PadInfo = { top: number; bottom: number; left: number; right: number };

/**
 * dW[kh,kw,ci,co] = Σ_{n,oh,ow} xPadded[n, oh·sh + kh, ow·sw + kw, ci] · dy[n,oh,ow,co]
 *
 * computed as one dilated convolution on kernels the wasm backend has: channels of x become the
 * batch ([ci, Hp, Wp, N]), dy becomes the filter ([oh, ow, N, co]) with dilation = stride, giving
 * [ci, ≥kh, ≥kw, co], which is sliced to [ci, kh, kw, co] and transposed to [kh, kw, ci, co].
 * Exported for tests; must be called with tensors on the active backend.
 */
export function conv2DBackpropFilterComposite(
  tf: Tf,
  x: TfModule.Tensor4D,
  dy: TfModule.Tensor4D,
  filterShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: TfModule.Conv2DBackpropFilterAttrs['pad'],
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): TfModule.Tensor4D {
  const [kh, kw, inC, outC] = filterShape;
  const xShape = x.shape;
  if (xShape[3] !== inC) {
    throw new Error(`Conv2DBackpropFilter: input has ${xShape[3]} channels but filterShape expects ${inC}`);
  }
  if (dy.shape[3] !== outC) {
    throw new Error(`Conv2DBackpropFilter: dy has ${dy.shape[3]} channels but filterShape expects ${outC}`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  if (dy.shape[1] !== oh || dy.shape[2] !== ow) {
    throw new Error(
      `Conv2DBackpropFilter: dy spatial shape ${dy.shape[1]}x${dy.shape[2]} does not match the forward ` +
        `output ${oh}x${ow} for input ${xShape.join('x')}, filter ${filterShape.join('x')}, strides ${sh}x${sw}, pad ${JSON.stringify(pad)}`,
    );
  }
  const p: PadInfo = info.padInfo;
  if (p.top < 0 || p.bottom < 0 || p.left < 0 || p.right < 0) {
    throw new Error(`Conv2DBackpropFilter: negative padding is not supported (${JSON.stringify(p)})`);
  }
  return tf.tidy(() => {
    // Rows/cols the correlation needs: (o-1)·s + k. With 'ceil' rounding this can exceed the padded
    // input; extra zeros there are what the forward pass implicitly used.
    const needH = (oh - 1) * sh + kh;
    const needW = (ow - 1) * sw + kw;
    const padBottom = Math.max(p.bottom, needH - xShape[1] - p.top);
    const padRight = Math.max(p.right, needW - xShape[2] - p.left);
    let xp: TfModule.Tensor4D = x;
    if (p.top > 0 || padBottom > 0 || p.left > 0 || padRight > 0) {
      xp = tf.pad(x, [
        [0, 0],
        [p.top, padBottom],
        [p.left, padRight],
        [0, 0],
      ]);
    }
    // Drop rows/cols the forward pass never read so the conv output is exactly kh x kw.
    if (xp.shape[1] !== needH || xp.shape[2] !== needW) {
      xp = tf.slice(xp, [0, 0, 0, 0], [-1, needH, needW, -1]);
    }
    const xT = tf.transpose(xp, [3, 1, 2, 0]); // [ci, needH, needW, N]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [oh, ow, N, co]
    // Dilation along a dimension whose filter extent is 1 is meaningless; keep it 1 so tfjs's
    // "strides or dilations must be 1" check and XNNPACK stay happy.
    const dil: [number, number] = [oh > 1 ? sh : 1, ow > 1 ? sw : 1];
    const r = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', dil); // [ci, kh, kw, co]
    return tf.transpose(r, [1, 2, 0, 3]);
  });
}

/**
 * Registers a `Conv2DBackpropFilter` kernel for the 'wasm' backend built from Pad/Slice/Transpose/
 * Conv2D (dilated). Supports NHWC, any strides ≥ 1, dilation 1 (tfjs' Conv2D gradient requires it),
 * pad 'same' | 'valid' | number | explicit. Throws a clear error for NCHW. Idempotent, and a no-op when
 * a kernel is already registered (e.g. a future tfjs ships one).
 */
export function registerConv2DBackpropFilterForWasm(tf: Tf): void {
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm') !== undefined) return;
  const kernelFunc: TfModule.KernelFunc = ({ inputs, attrs }) => {
    const a = attrs as unknown as TfModule.Conv2DBackpropFilterAttrs;
    if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') {
      throw new Error(
        `Conv2DBackpropFilter (wasm composite): dataFormat '${a.dataFormat}' is not supported, use NHWC`,
      );
    }
    const xInfo = inputs.x;
    const dyInfo = inputs.dy;
    if (xInfo === undefined || dyInfo === undefined) {
      throw new Error('Conv2DBackpropFilter (wasm composite): inputs x and dy are required');
    }
    if (xInfo.shape.length !== 4 || dyInfo.shape.length !== 4) {
      throw new Error('Conv2DBackpropFilter (wasm composite): x and dy must be rank 4');
    }
    // Ops take Tensors; inputs are Tensors when the kernel is reached through the op API, but wrap
    // plain TensorInfos (another kernel calling us) without taking ownership.
    const wrapped: TfModule.Tensor[] = [];
    const asTensor = (t: TfModule.TensorInfo): TfModule.Tensor4D => {
      if (t instanceof tf.Tensor) return t as TfModule.Tensor4D;
      const w = tf.engine().makeTensorFromTensorInfo(t);
      wrapped.push(w);
      return w as TfModule.Tensor4D;
    };
    try {
      // A Tensor (it has a rank) returned from a kernelFunc is used by the engine as the output as is.
      return conv2DBackpropFilterComposite(
        tf,
        asTensor(xInfo),
        asTensor(dyInfo),
        a.filterShape,
        a.strides,
        a.pad,
        a.dimRoundingMode,
      );
    } finally {
      for (const w of wrapped) w.dispose();
    }
  };
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc });
}
