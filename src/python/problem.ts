// The one error of the Python reader: a reason the source cannot be read as a flow. It is thrown
// from any depth (the tokenizer, the signature, a default) and caught once, in analyzeFlowSource.

/** A reason the source cannot be read as a flow; carries the line when one is to blame. */
export class SourceProblem extends Error {
  readonly line: number | undefined;
  constructor(message: string, line?: number) {
    super(message);
    this.line = line;
  }
}
