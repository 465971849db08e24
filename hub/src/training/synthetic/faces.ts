/**
 * Parametric synthetic faces: an identity is a seeded parameter vector, a sample is that identity
 * rendered under a per-image variation (pose, lighting, expression, framing, noise) as an 8-bit
 * greyscale image. Deterministic and download-free; meant for tests and the demo, not realism.
 *
 * Split into face-identity.ts (identities and variations), face-render.ts (rasterising one face)
 * and face-scenes.ts (datasets and cluttered scenes); this module is the public entry point.
 */

export {
  FACE_SIZE,
  type FaceIdentity,
  type FaceVariation,
  faceIdentity,
  faceVariation,
  type ImageSize,
  NEUTRAL_VARIATION,
} from './face-identity.js';
export { renderFace } from './face-render.js';
export { type FaceSample, faceDataset, renderScene, type Scene, type SceneBox, type SceneFace, sceneFaces } from './face-scenes.js';
