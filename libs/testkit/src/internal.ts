// The process, port and file helpers live with the server starters in @tandem/platform.
export { LOOPBACK, delay, elapsedSince, freePorts, hasExited, tailFile, terminate } from '@tandem/platform';
