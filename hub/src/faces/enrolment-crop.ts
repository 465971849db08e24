import { cropFace, decodeGrey, type FaceDetector, type FaceSpec, type GreyImage, resample } from '@edgeloop/shared';

/**
 * An enrolment photo → the face crop the embedder sees, exactly as the door agent crops a camera
 * frame: the largest face the bundle's detector finds, cut with the bundle's crop spec. A photo in
 * which no face is found is taken as an already-framed head shot and scaled whole.
 */
export async function enrolmentCrop(
  photo: Uint8Array,
  detector: FaceDetector,
  face: Pick<FaceSpec, 'crop'>,
  size: { width: number; height: number },
): Promise<{ crop: GreyImage; detected: boolean }> {
  const img = await decodeGrey(photo);
  const boxes = await detector.detect(img);
  const largest = boxes.sort((a, b) => b.width * b.height - a.width * a.height)[0];
  if (largest) return { crop: cropFace(img, largest, face.crop, size), detected: true };
  return { crop: resample(img, 0, 0, img.width, img.height, size.width, size.height), detected: false };
}
