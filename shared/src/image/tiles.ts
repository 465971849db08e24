import type { PreprocessSpec } from '../contracts/manifest.js';
import { ValidationError, errorMessage } from '../errors.js';
import { openImage } from './decode.js';
import { pixelsToTensor, preprocessImage } from './preprocess.js';
import { cropResize } from './resample.js';

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
  /** Boxes in the coordinates of the oriented photo, downscaled to maxSide if it was larger. */
  plan: TilePlan;
  /** Size of the (oriented, possibly downscaled) photo the plan refers to. */
  width: number;
  height: number;
  /** Original (oriented) size ÷ `width`: multiply a box by it for original-photo coordinates. */
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
 * normalised per the spec, like preprocessImage).
 *
 * The plan is made on the "logical" photo: oriented, downscaled to `maxSide` if huge (width, height,
 * scale and the boxes all refer to it). A photo that fits in one tile goes through preprocessImage
 * unchanged. Otherwise the photo is decoded by sharp once (oriented, RGB or grey), already shrunk by
 * the tile scale k = tile side ÷ network input side (never below 1, and never so far that the whole
 * photo would end up smaller than the input), so a full tile is about spec-sized in the decoded
 * pixels. Each tile is then its box in those pixels (origin and size rounded to whole pixels) and
 * the whole photo is the entire buffer, both resized to the input in TypeScript (see cropResize:
 * area average when shrinking, usually a plain copy for full tiles). One decode replaces a sharp
 * pipeline per input, which is what made this function slow.
 *
 * Difference from preprocessImage for `whole`: preprocessImage resizes the original straight to the
 * input with sharp's lanczos3; here it is lanczos3 to the decoded size, then an area average to the
 * input, so `whole` is very slightly softer (values differ by a few 1/255 on textured photos, not at
 * all on flat areas). Training (laundry bags) and the device both build their inputs through this
 * function, so they see identical inputs by construction.
 */
export async function imageTiles(data: Buffer | Uint8Array, spec: PreprocessSpec, opts: ImageTilesOptions): Promise<ImageTiles> {
  const maxSide = opts.maxSide ?? DEFAULT_MAX_SIDE;
  if (!Number.isInteger(maxSide) || maxSide < 1) throw new RangeError(`imageTiles: maxSide ${maxSide} must be a positive integer`);

  let raw: Buffer;
  let channels: number;
  let plan: TilePlan;
  let width: number;
  let height: number;
  let scale = 1;
  let downscaled = false;
  let decW: number;
  let decH: number;
  try {
    let img = openImage(data);
    const meta = await img.metadata();
    const origW = meta.autoOrient?.width ?? meta.width;
    const origH = meta.autoOrient?.height ?? meta.height;
    if (!origW || !origH) throw new ValidationError('image has no size');
    if (Math.max(origW, origH) > maxSide) {
      const f = maxSide / Math.max(origW, origH);
      width = Math.max(1, Math.round(origW * f));
      height = Math.max(1, Math.round(origH * f));
      scale = origW / width;
      downscaled = true;
    } else {
      width = origW;
      height = origH;
    }
    const tileSide = opts.tile > 0 ? opts.tile : autoTileSide(width, height, spec);
    plan = planTiles(width, height, { tile: tileSide, overlap: opts.overlap, maxTiles: opts.maxTiles });
    if (plan.boxes.length === 1 && !downscaled) {
      // A photo that fits in one tile needs no tiling: one pipeline, exactly as preprocessImage.
      const whole = await preprocessImage(data, spec);
      return { plan, width, height, scale, batch: whole, whole };
    }
    // Decode shrink: a full tile becomes ≈ spec-sized; the whole photo stays ≥ spec-sized.
    const k = Math.max(1, Math.min(plan.tile / spec.width, plan.tile / spec.height, width / spec.width, height / spec.height));
    decW = Math.max(1, Math.round(width / k));
    decH = Math.max(1, Math.round(height / k));
    img = img.rotate();
    if (decW !== origW || decH !== origH) img = img.resize(decW, decH, { fit: 'fill' });
    img = img.removeAlpha();
    img = spec.channels === 1 ? img.greyscale() : img.toColourspace('srgb');
    const out = await img.raw().toBuffer({ resolveWithObject: true });
    raw = out.data;
    channels = out.info.channels;
    if (out.info.width !== decW || out.info.height !== decH) {
      throw new ValidationError(`decoded ${out.info.width}x${out.info.height}, expected ${decW}x${decH}`);
    }
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError(`image could not be decoded: ${errorMessage(err)}`);
  }

  const sx = width / decW;
  const sy = height / decH;
  const toDecoded = (b: TileBox): TileBox => {
    const w = Math.min(decW, Math.max(1, Math.round(b.w / sx)));
    const h = Math.min(decH, Math.max(1, Math.round(b.h / sy)));
    const x = Math.min(decW - w, Math.round(b.x / sx));
    const y = Math.min(decH - h, Math.round(b.y / sy));
    return { x, y, w, h };
  };
  const input = (box: TileBox): Float32Array => pixelsToTensor(cropResize(raw, decW, decH, channels, box, spec.width, spec.height), spec);

  const per = spec.channels * spec.width * spec.height;
  const whole = input({ x: 0, y: 0, w: decW, h: decH });
  const batch = new Float32Array(per * plan.boxes.length);
  for (let i = 0; i < plan.boxes.length; i++) batch.set(input(toDecoded(plan.boxes[i] as TileBox)), i * per);
  return { plan, width, height, scale, batch, whole };
}
