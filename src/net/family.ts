// The two address families and their widths, shared by the byte-level and the bigint forms.

export type IPFamily = 4 | 6;

export const familyBits = (family: IPFamily): 32 | 128 => (family === 4 ? 32 : 128);

export const familyBytes = (family: IPFamily): 4 | 16 => (family === 4 ? 4 : 16);
