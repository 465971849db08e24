import { cropFace, decodeGrey, type FaceDetector, type FaceSpec, type GreyImage, resample } from '@edgeloop/shared';

/** Border added on each side of a head shot, as a fraction of its size, when no face is found in it. */
export const HEAD_SHOT_BORDER = 0.25;

/**
 * An enrolment photo → the face crop the embedder sees, exactly as the door agent crops a camera
 * frame: the largest face the bundle's detector finds, cut with the bundle's crop spec. A tight head
 * shot (the face fills the photo, larger than the detector's largest window) is searched again inside
 * a border of its mean grey, so it is framed like a door frame's face (on the ORL photos, 68% found
 * without the border, 98.5% with it). A photo in which no face is found even then is scaled whole.
 */
export async function enrolmentCrop(
  photo: Uint8Array,
  detector: FaceDetector,
  face: Pick<FaceSpec, 'crop'>,
  size: { width: number; height: number },
): Promise<{ crop: GreyImage; detected: boolean }> {
  const img = await decodeGrey(photo);
  for (const frame of [img, withBorder(img, HEAD_SHOT_BORDER)]) {
    const largest = (await detector.detect(frame)).sort((a, b) => b.width * b.height - a.width * a.height)[0];
    if (largest) return { crop: cropFace(frame, largest, face.crop, size), detected: true };
  }
  return { crop: resample(img, 0, 0, img.width, img.height, size.width, size.height), detected: false };
}

/** `img` centred in a border of its own mean grey, `fraction` of its width / height on each side. */
export function withBorder(img: GreyImage, fraction: number): GreyImage {
  const bx = Math.round(img.width * fraction);
  const by = Math.round(img.height * fraction);
  const width = img.width + 2 * bx;
  const height = img.height + 2 * by;
  let sum = 0;
  for (const v of img.data) sum += v;
  const data = new Uint8Array(width * height).fill(Math.round(sum / Math.max(1, img.data.length)));
  for (let y = 0; y < img.height; y++) data.set(img.data.subarray(y * img.width, (y + 1) * img.width), (y + by) * width + bx);
  return { data, width, height };
}
