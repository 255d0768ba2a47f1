/** Small float grayscale images and the few filters the verification stage needs. Pure typed-array code. */

export interface GrayImage {
  width: number;
  height: number;
  /** Row-major. */
  data: Float32Array;
}

export function grayImage(width: number, height: number, pixels: ArrayLike<number>): GrayImage {
  return { width, height, data: Float32Array.from(pixels) };
}

/** Averages factor×factor blocks (a remainder row/column is dropped). */
export function downsample(image: GrayImage, factor: number): GrayImage {
  const width = Math.max(1, Math.floor(image.width / factor));
  const height = Math.max(1, Math.floor(image.height / factor));
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      let sum = 0;
      let count = 0;
      for (let dy = 0; dy < factor; dy += 1) {
        const sourceY = y * factor + dy;
        if (sourceY >= image.height) break;
        for (let dx = 0; dx < factor; dx += 1) {
          const sourceX = x * factor + dx;
          if (sourceX >= image.width) break;
          sum += image.data[sourceY * image.width + sourceX] ?? 0;
          count += 1;
        }
      }
      data[y * width + x] = sum / Math.max(1, count);
    }
  }
  return { width, height, data };
}

function gaussianKernel(sigma: number): Float32Array {
  const radius = Math.max(1, Math.ceil(sigma * 2.5));
  const kernel = new Float32Array(radius * 2 + 1);
  let sum = 0;
  for (let offset = -radius; offset <= radius; offset += 1) {
    const weight = Math.exp(-(offset * offset) / (2 * sigma * sigma));
    kernel[offset + radius] = weight;
    sum += weight;
  }
  for (let index = 0; index < kernel.length; index += 1) kernel[index] = (kernel[index] ?? 0) / sum;
  return kernel;
}

/** Separable Gaussian blur; edges are clamped. */
export function gaussianBlur(image: GrayImage, sigma: number): GrayImage {
  const { width, height } = image;
  const kernel = gaussianKernel(sigma);
  const radius = (kernel.length - 1) / 2;
  const horizontal = new Float32Array(width * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      let sum = 0;
      for (let offset = -radius; offset <= radius; offset += 1) {
        const sourceX = Math.min(width - 1, Math.max(0, x + offset));
        sum += (kernel[offset + radius] ?? 0) * (image.data[y * width + sourceX] ?? 0);
      }
      horizontal[y * width + x] = sum;
    }
  }
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      let sum = 0;
      for (let offset = -radius; offset <= radius; offset += 1) {
        const sourceY = Math.min(height - 1, Math.max(0, y + offset));
        sum += (kernel[offset + radius] ?? 0) * (horizontal[sourceY * width + x] ?? 0);
      }
      data[y * width + x] = sum;
    }
  }
  return { width, height, data };
}

/**
 * Difference of Gaussians: keeps detail between the two scales. Two photos of the same façade agree on
 * the coarse layout but not on this fine texture; an edited copy agrees on both.
 */
export function bandPass(image: GrayImage, fineSigma: number, coarseSigma: number): GrayImage {
  const fine = fineSigma > 0 ? gaussianBlur(image, fineSigma) : image;
  const coarse = gaussianBlur(image, coarseSigma);
  const data = new Float32Array(image.data.length);
  for (let index = 0; index < data.length; index += 1) data[index] = (fine.data[index] ?? 0) - (coarse.data[index] ?? 0);
  return { width: image.width, height: image.height, data };
}

/** Zero mean, unit variance (a flat image stays all zero). */
export function standardize(image: GrayImage): GrayImage {
  const count = image.data.length;
  let sum = 0;
  for (const value of image.data) sum += value;
  const average = sum / count;
  let squares = 0;
  for (const value of image.data) squares += (value - average) ** 2;
  const deviation = Math.sqrt(squares / count);
  const data = new Float32Array(count);
  if (deviation > 1e-6) for (let index = 0; index < count; index += 1) data[index] = ((image.data[index] ?? 0) - average) / deviation;
  return { width: image.width, height: image.height, data };
}

/** Mirror image (left–right). */
export function mirror(image: GrayImage): GrayImage {
  const { width, height } = image;
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) data[y * width + x] = image.data[y * width + (width - 1 - x)] ?? 0;
  }
  return { width, height, data };
}
