/** The polling helper lives with the drills, which ship with the product. */
export { until } from '../../../src/drill/poll.js';
