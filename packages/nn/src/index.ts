// Re-exports only; each module adds its line.
export { saveSafetensors, loadSafetensors, serializeSafetensors, parseSafetensors, SafetensorsError, MAX_HEADER_BYTES, type SafetensorsContents } from './safetensors.ts';
