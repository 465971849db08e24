/** An 8-bit single-channel image, row-major. */
export interface GreyImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** A face found in a frame, in frame pixels; score 0..1 from the detector. */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}
