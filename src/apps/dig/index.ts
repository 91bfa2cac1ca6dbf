// kubewire dig's public surface.
export { runDig, runDigSearch, digSearchNames, type DigOptions, type DigRun } from './client.js';
export { printDig, printDigSearch, printDigFailure, DIG_VERSION, DEFAULT_DISPLAY, type DigDisplay, type DigExchange } from './print.js';
