/** The token workload and its checks live with the drills (src/drill), which ship with the product. */
export { TokenWriter, type TokenKeys, type WriteFailure } from '../../../src/drill/load.js';
export { ownRounds, roundsByWriter, tokenProblems } from '../../../src/drill/tokens.js';
