/**
 * Small dense linear algebra in float64 for the face model, the ridge start and the decoder's linear base: Cholesky factorisation and
 * solves (ridge regression's normal equations, CholeskyQR), and the symmetric eigendecomposition of a small
 * matrix by Householder tridiagonalisation and implicit QL (Golub & Van Loan, Matrix Computations, §8.3) — the
 * ℓ×ℓ core of a randomized SVD, where ℓ is up to about a thousand. The large products run on the tensor engine (pca.ts).
 */

/** Lower-triangular L with A = L·Lᵀ for a symmetric positive definite n×n A (row-major). */
export function cholesky(A: Float64Array, n: number, where = 'cholesky'): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new Error(`${where}: the matrix is not positive definite (pivot ${i} is ${s})`);
        L[i * n + i] = Math.sqrt(s);
      } else {
        L[i * n + j] = s / L[j * n + j];
      }
    }
  }
  return L;
}

/** Solves A·X = B for X (n×m) given A's Cholesky factor L. */
export function choleskySolve(L: Float64Array, B: Float64Array, n: number, m: number): Float64Array {
  const X = new Float64Array(n * m);
  const y = new Float64Array(n);
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) {
      let s = B[i * m + c];
      for (let k = 0; k < i; k++) s -= L[i * n + k] * y[k];
      y[i] = s / L[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i];
      for (let k = i + 1; k < n; k++) s -= L[k * n + i] * X[k * m + c];
      X[i * m + c] = s / L[i * n + i];
    }
  }
  return X;
}

/** Inverse of an upper-triangular n×n matrix U (row-major). */
export function invertUpper(U: Float64Array, n: number): Float64Array {
  const X = new Float64Array(n * n);
  for (let i = n - 1; i >= 0; i--) {
    X[i * n + i] = 1 / U[i * n + i];
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let k = i + 1; k <= j; k++) s += U[i * n + k] * X[k * n + j];
      X[i * n + j] = -s / U[i * n + i];
    }
  }
  return X;
}

/**
 * Eigenvalues (descending) and eigenvectors (columns of `vectors`, same order) of a symmetric n×n matrix:
 * Householder reduction to tridiagonal form, then the implicit QL iteration with Wilkinson shifts (Golub &
 * Van Loan, Matrix Computations, §8.3), the rotations accumulated into the eigenvectors. About 9n³ flops
 * where cyclic Jacobi took ≈ 10× more (the PCA face model's 1,056-wide core: ≈ 50 s with Jacobi).
 */
export function symmetricEigen(S: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const z = Float64Array.from(S);
  const d = new Float64Array(n), e = new Float64Array(n);
  tridiagonalise(z, n, d, e, true);
  // Rows of zt are the eigenvectors (so each rotation updates two contiguous rows).
  const zt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) zt[i * n + k] = z[k * n + i];
  implicitQl(d, e, n, zt);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[b] - d[a]);
  const values = Float64Array.from(order, (i) => d[i]);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => { for (let k = 0; k < n; k++) vectors[k * n + dst] = zt[src * n + k]; });
  return { values, vectors };
}

/** Eigenvalues only (descending) of a symmetric n×n matrix: `symmetricEigen` without the vectors' O(n³) share. */
export function symmetricEigenvalues(S: Float64Array, n: number): Float64Array {
  const a = Float64Array.from(S);
  const d = new Float64Array(n), e = new Float64Array(n);
  tridiagonalise(a, n, d, e, false);
  implicitQl(d, e, n, null);
  return d.sort().reverse();
}

/**
 * Householder tridiagonalisation of symmetric `a` (overwritten): diagonal into d, sub-diagonal into e[1..];
 * with `vectors`, `a` ends as the orthogonal matrix of the reduction (columns).
 */
function tridiagonalise(a: Float64Array, n: number, d: Float64Array, e: Float64Array, vectors: boolean): void {
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    let h = 0;
    if (l > 0) {
      let scale = 0;
      for (let k = 0; k <= l; k++) scale += Math.abs(a[i * n + k]);
      if (scale === 0) {
        e[i] = a[i * n + l];
      } else {
        for (let k = 0; k <= l; k++) { a[i * n + k] /= scale; h += a[i * n + k] * a[i * n + k]; }
        let f = a[i * n + l];
        let g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
        e[i] = scale * g;
        h -= f * g;
        a[i * n + l] = f - g;
        f = 0;
        for (let j = 0; j <= l; j++) {
          if (vectors) a[j * n + i] = a[i * n + j] / h;
          g = 0;
          for (let k = 0; k <= j; k++) g += a[j * n + k] * a[i * n + k];
          for (let k = j + 1; k <= l; k++) g += a[k * n + j] * a[i * n + k];
          e[j] = g / h;
          f += e[j] * a[i * n + j];
        }
        const hh = f / (h + h);
        for (let j = 0; j <= l; j++) {
          f = a[i * n + j];
          e[j] = g = e[j] - hh * f;
          for (let k = 0; k <= j; k++) a[j * n + k] -= f * e[k] + g * a[i * n + k];
        }
      }
    } else {
      e[i] = a[i * n + l];
    }
    d[i] = h;
  }
  d[0] = 0;
  e[0] = 0;
  for (let i = 0; i < n; i++) {
    if (vectors) {
      if (d[i] !== 0) {
        for (let j = 0; j < i; j++) {
          let g = 0;
          for (let k = 0; k < i; k++) g += a[i * n + k] * a[k * n + j];
          for (let k = 0; k < i; k++) a[k * n + j] -= g * a[k * n + i];
        }
      }
      d[i] = a[i * n + i];
      a[i * n + i] = 1;
      for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j] = 0;
    } else {
      d[i] = a[i * n + i];
    }
  }
}

/**
 * Eigenvalues of the tridiagonal (d, e[1..]) into d, by implicit QL; each rotation also applied to rows i,
 * i+1 of `zt` (the eigenvectors as rows) when given. Throws if an eigenvalue does not converge in 60 steps.
 */
function implicitQl(d: Float64Array, e: Float64Array, n: number, zt: Float64Array | null): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  if (n > 0) e[n - 1] = 0;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    let m: number;
    do {
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd) break;
      }
      if (m === l) break;
      if (iter++ === 60) throw new Error(`symmetric eigendecomposition: no convergence for eigenvalue ${l} of ${n}`);
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = Math.hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
      let s = 1, c = 1, p = 0;
      let i: number;
      for (i = m - 1; i >= l; i--) {
        const f = s * e[i], b = c * e[i];
        e[i + 1] = r = Math.hypot(f, g);
        if (r === 0) { d[i + 1] -= p; e[m] = 0; break; }
        s = f / r; c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        if (zt) {
          const ri = i * n, rj = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const zf = zt[rj + k], zi = zt[ri + k];
            zt[rj + k] = s * zi + c * zf;
            zt[ri + k] = c * zi - s * zf;
          }
        }
      }
      if (r === 0 && i >= l) continue;
      d[l] -= p; e[l] = g; e[m] = 0;
    } while (m !== l);
  }
}
