/** Where this installation lives: the repository root (or the unpacked extension), found from the compiled file's place under out/daemon/io/. */
import * as path from 'node:path';

export const INSTALL_ROOT = path.resolve(__dirname, '..', '..', '..');
