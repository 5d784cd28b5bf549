// Re-exports only; each module adds its line.
