// The part of the WebAssembly JavaScript API the kernels use: Node has it as a global, but @types/node
// does not declare it, and the DOM library that does would bring browser globals into a server project.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
}
