// The laundry classifier lives in shared, so that the hub's sandbox verifier runs the device's exact code.
export { classifyLaundry, DEFAULT_TILE_OPTIONS, DEFECT_LABEL, type LaundryClassification, type TileBoxResult, type TileClassifierNetwork } from '@edgeloop/shared';
