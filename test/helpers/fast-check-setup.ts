// Property tests explore with a fixed seed, so a CI run is repeatable; set FC_SEED to explore
// other inputs locally (a failure prints the seed and path to replay it).
import fc from 'fast-check';

fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261201) });
