import sharp from 'sharp';
import type { PreprocessSpec } from '../contracts/manifest.js';
import { ValidationError, errorMessage } from '../errors.js';
import { openImage } from './decode.js';
import { pixelsToTensor, preprocessImage } from './preprocess.js';

export interface TileBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface TilePlan {
  /** Side of the square tiles (a box is clipped to the image where the image is narrower). */
  tile: number;
  /** Largest step between neighbouring tiles; the real step may be smaller, never larger. */
  stride: number;
  columns: number;
  rows: number;
  /** Row-major: rows × columns boxes, every one inside the image. */
  boxes: TileBox[];
}

export interface PlanTilesOptions {
  /** Wanted tile side in pixels (≥ 1). */
  tile: number;
  /** Fraction of a tile shared with its neighbour, 0..0.5. */
  overlap: number;
  /** Upper bound on the number of tiles; the tile grows until the plan fits. */
  maxTiles: number;
}

export interface ImageTilesOptions {
  /** Tile side in pixels of the (possibly downscaled) photo; 0 = automatic, see {@link autoTileSide}. */
  tile: number;
  overlap: number;
  maxTiles: number;
  /** Photos whose longer side exceeds this are downscaled first (default 2048). */
  maxSide?: number;
}

export interface ImageTiles {
  /** Boxes in the coordinates of the decoded (oriented, possibly downscaled) photo. */
  plan: TilePlan;
  /** Size of the decoded photo the plan refers to. */
  width: number;
  height: number;
  /** Original (oriented) size ÷ decoded size: multiply a box by it for original-photo coordinates. */
  scale: number;
  /** All tiles, each resized to spec.width×spec.height and normalised, concatenated NCHW. */
  batch: Float32Array;
  /** The whole photo resized to spec.width×spec.height and normalised, as preprocessImage does. */
  whole: Float32Array;
}

export const DEFAULT_MAX_SIDE = 2048;

/**
 * Covers a width×height image with overlapping square tiles. Tiles at the far edges are aligned to
 * the border and the others spread evenly in between, so no box leaves the image and neighbours
 * share at least `overlap × tile` pixels. An image no larger than a tile is one box of the whole
 * image. When more than `maxTiles` tiles would be needed, the tile grows to the smallest side that
 * fits (a tile larger than one image side is clipped to it).
 */
export function planTiles(width: number, height: number, opts: PlanTilesOptions): TilePlan {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`planTiles: image size ${width}x${height} is not a positive integer size`);
  }
  if (!Number.isFinite(opts.tile) || opts.tile < 1) throw new RangeError(`planTiles: tile ${opts.tile} must be ≥ 1`);
  if (!Number.isFinite(opts.maxTiles) || opts.maxTiles < 1) throw new RangeError(`planTiles: maxTiles ${opts.maxTiles} must be ≥ 1`);
  if (!Number.isFinite(opts.overlap)) throw new RangeError(`planTiles: overlap ${opts.overlap} is not a number`);
  const overlap = Math.min(0.5, Math.max(0, opts.overlap));
  const maxTiles = Math.floor(opts.maxTiles);
  const wanted = Math.floor(opts.tile);

  if (width <= wanted && height <= wanted) {
    const side = Math.max(width, height);
    return { tile: side, stride: side, columns: 1, rows: 1, boxes: [{ x: 0, y: 0, w: width, h: height }] };
  }

  const stride = (t: number): number => Math.max(1, Math.floor(t * (1 - overlap)));
  const along = (size: number, t: number): number => (size <= t ? 1 : Math.ceil((size - t) / stride(t)) + 1);
  const count = (t: number): number => along(width, t) * along(height, t);

  // Square tiles where possible: never wider than the shorter side unless maxTiles forces it.
  let tile = Math.min(wanted, width, height);
  if (count(tile) > maxTiles) {
    // count() is non-increasing in the tile side; count(max side) = 1 ≤ maxTiles.
    let lo = tile; // too many tiles
    let hi = Math.max(width, height); // fits
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (count(mid) > maxTiles) lo = mid;
      else hi = mid;
    }
    tile = hi;
  }

  const xs = positions(width, tile, along(width, tile));
  const ys = positions(height, tile, along(height, tile));
  const w = Math.min(tile, width);
  const h = Math.min(tile, height);
  const boxes: TileBox[] = [];
  for (const y of ys) for (const x of xs) boxes.push({ x, y, w, h });
  return { tile, stride: stride(tile), columns: xs.length, rows: ys.length, boxes };
}

/** n tile origins along one axis: first at 0, last at size - tile, the rest evenly in between. */
function positions(size: number, tile: number, n: number): number[] {
  if (n === 1) return [0];
  const span = size - tile;
  return Array.from({ length: n }, (_, i) => Math.round((i * span) / (n - 1)));
}

/** Automatic tile side: twice the network input, or a quarter of the photo's shorter side if larger. */
export function autoTileSide(width: number, height: number, spec: PreprocessSpec): number {
  return Math.max(2 * Math.max(spec.width, spec.height), Math.floor(Math.min(width, height) / 4));
}

/**
 * Image bytes → the whole photo plus overlapping tiles of it, each as network input (NCHW floats
 * normalised per the spec, exactly like preprocessImage). The photo is decoded once (oriented,
 * downscaled to `maxSide` if huge); tiles are cropped and resized from the decoded pixels.
 */
export async function imageTiles(data: Buffer | Uint8Array, spec: PreprocessSpec, opts: ImageTilesOptions): Promise<ImageTiles> {
  const maxSide = opts.maxSide ?? DEFAULT_MAX_SIDE;
  if (!Number.isInteger(maxSide) || maxSide < 1) throw new RangeError(`imageTiles: maxSide ${maxSide} must be a positive integer`);

  let raw: Buffer;
  let width: number;
  let height: number;
  let channels: number;
  let scale = 1;
  try {
    let img = openImage(data);
    const meta = await img.metadata();
    const origW = meta.autoOrient?.width ?? meta.width;
    const origH = meta.autoOrient?.height ?? meta.height;
    if (origW !== undefined && origH !== undefined && Math.max(origW, origH) <= maxSide) {
      // A photo that fits in one tile needs no tiling: one pipeline, exactly as preprocessImage.
      const tileSide = opts.tile > 0 ? opts.tile : autoTileSide(origW, origH, spec);
      const single = planTiles(origW, origH, { tile: tileSide, overlap: opts.overlap, maxTiles: opts.maxTiles });
      if (single.boxes.length === 1) {
        const whole = await preprocessImage(data, spec);
        return { plan: single, width: origW, height: origH, scale: 1, batch: whole, whole };
      }
    }
    img = img.rotate();
    if (origW !== undefined && origH !== undefined && Math.max(origW, origH) > maxSide) {
      img = img.resize(maxSide, maxSide, { fit: 'inside' });
    }
    img = img.removeAlpha();
    img = spec.channels === 1 ? img.greyscale() : img.toColourspace('srgb');
    const out = await img.raw().toBuffer({ resolveWithObject: true });
    raw = out.data;
    ({ width, height, channels } = out.info);
    if (origW !== undefined) scale = origW / width;
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError(`image could not be decoded: ${errorMessage(err)}`);
  }

  const tile = opts.tile > 0 ? opts.tile : autoTileSide(width, height, spec);
  const plan = planTiles(width, height, { tile, overlap: opts.overlap, maxTiles: opts.maxTiles });
  const rawInput = { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } };
  const resize = (box: TileBox | null): Promise<Buffer> => {
    let img = sharp(raw, rawInput);
    if (box && !(box.w === width && box.h === height)) img = img.extract({ left: box.x, top: box.y, width: box.w, height: box.h });
    return img.resize(spec.width, spec.height, { fit: 'fill' }).raw().toBuffer();
  };

  let pixels: Buffer[];
  try {
    pixels = await Promise.all([resize(null), ...plan.boxes.map((b) => resize(b))]);
  } catch (err) {
    throw new ValidationError(`image could not be tiled: ${errorMessage(err)}`);
  }
  const per = spec.channels * spec.width * spec.height;
  const whole = pixelsToTensor(pixels[0] as Buffer, spec);
  const batch = new Float32Array(per * plan.boxes.length);
  for (let i = 0; i < plan.boxes.length; i++) batch.set(pixelsToTensor(pixels[i + 1] as Buffer, spec), i * per);
  return { plan, width, height, scale, batch, whole };
}
