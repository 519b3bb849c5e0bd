// eigenvalues of L^T S2 L (S1 = L L^T) through OpenBLAS's LAPACK: what the fréchet distance needs, nothing more.
// plain N-API C; the fortran routines are declared here, so neither lapacke.h nor cblas.h is needed.
#include <float.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>

// gfortran passes the length of each character argument as a trailing hidden size_t: declared and passed (1),
// since omitting them is what broke callers of LAPACK built with newer gfortran
typedef size_t flen;
extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, flen);
extern void dpstrf_(const char *uplo, const int *n, double *a, const int *lda, int *piv, int *rank, const double *tol,
                    double *work, int *info, flen);
extern void dsygst_(const int *itype, const char *uplo, const int *n, double *a, const int *lda, const double *b,
                    const int *ldb, int *info, flen);
extern void dsytrd_(const char *uplo, const int *n, double *a, const int *lda, double *d, double *e, double *tau,
                    double *work, const int *lwork, int *info, flen);
extern void dsterf_(const int *n, double *d, double *e, int *info);
extern void dsymm_(const char *side, const char *uplo, const int *m, const int *n, const double *alpha, const double *a,
                   const int *lda, const double *b, const int *ldb, const double *beta, double *c, const int *ldc, flen,
                   flen);
extern void dgemm_(const char *ta, const char *tb, const int *m, const int *n, const int *k, const double *alpha,
                   const double *a, const int *lda, const double *b, const int *ldb, const double *beta, double *c,
                   const int *ldc, flen, flen);
extern void openblas_set_num_threads(int n);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);

// lower triangle (column-major) of (S + S^T) / 2 + eps I for row-major S: the same arithmetic as the js path's
// symmetrisation, so both paths factor bit-identical matrices. column-major lower == row-major upper of a
// symmetric matrix, so only the index order differs. in 64 x 64 tiles: the transposed reads stay in cache
#define TILE 64
static void symmetrized_lower(const double *S, int n, double eps, double *A) {
  for (int jb = 0; jb < n; jb += TILE) {
    const int je = jb + TILE < n ? jb + TILE : n;
    for (int ib = jb; ib < n; ib += TILE) {
      const int ie = ib + TILE < n ? ib + TILE : n;
      for (int j = jb; j < je; j++) {
        const double *row = S + (size_t)j * n;
        double *col = A + (size_t)j * n;
        for (int i = ib > j ? ib : j; i < ie; i++) col[i] = 0.5 * (S[(size_t)i * n + j] + row[i]);
      }
    }
  }
  for (int j = 0; j < n; j++) A[(size_t)j * n + j] += eps;
}

// the symmetrised entry (i, j) of row-major S, both triangles
static double symmetrized_at(const double *S, int n, int i, int j, double eps) {
  double v = 0.5 * (S[(size_t)i * n + j] + S[(size_t)j * n + i]);
  return i == j ? v + eps : v;
}

// LAPACK's default rank tolerance for semidefinite pivoting (xPSTRF), on the symmetrised diagonal
static double rank_tolerance(const double *A, int n) {
  double max_diag = 0;
  for (int i = 0; i < n; i++) {
    double v = A[(size_t)i * n + i];
    if (v > max_diag) max_diag = v;
  }
  return n * DBL_EPSILON * max_diag;
}

// eigenvalues of the symmetric r x r matrix in the lower triangle of M (overwritten), ascending, into w.
// returns 0, -1 on allocation failure, or a LAPACK info (> 0: dsterf did not converge)
static int symmetric_eigenvalues(double *M, int r, double *w) {
  if (r == 0) return 0;
  int info = 0, lwork = -1;
  double query = 0;
  double *e = malloc(sizeof(double) * (size_t)r);
  double *tau = malloc(sizeof(double) * (size_t)r);
  if (e == NULL || tau == NULL) {
    free(e);
    free(tau);
    return -1;
  }
  dsytrd_("L", &r, M, &r, w, e, tau, &query, &lwork, &info, 1);
  lwork = info == 0 && query >= 1 ? (int)query : r;
  double *work = malloc(sizeof(double) * (size_t)lwork);
  if (work == NULL) {
    free(e);
    free(tau);
    return -1;
  }
  dsytrd_("L", &r, M, &r, w, e, tau, work, &lwork, &info, 1);
  if (info == 0) dsterf_(&r, w, e, &info);
  free(work);
  free(e);
  free(tau);
  return info;
}

typedef struct {
  int status;  // 0 ok, -1 out of memory, > 0 eigenvalue solver failed, < -1 LAPACK argument error
  int rank;
  int pivoted;
} product_result;

// S1 = L L^T: unpivoted dpotrf when every pivot clears the rank tolerance (the js path's blocked cholesky
// criterion), otherwise dpstrf with that tolerance (as the js path's pivoted cholesky: largest remaining diagonal
// first, stop at <= tol). then eigenvalues of L^T S2[p, p] L (rank x rank) into w (n entries available).
static product_result cholesky_product_eigenvalues(const double *S1, const double *S2, int n, double eps, double *w) {
  product_result res = {0, 0, 0};
  size_t nn = (size_t)n * n;
  double *A = malloc(sizeof(double) * nn);
  double *B = malloc(sizeof(double) * nn);
  if (A == NULL || B == NULL) {
    free(A);
    free(B);
    res.status = -1;
    return res;
  }
  symmetrized_lower(S1, n, eps, A);
  const double tol = rank_tolerance(A, n);
  int info = 0;
  dpotrf_("L", &n, A, &n, &info, 1);
  int positive = info == 0;
  for (int i = 0; positive && i < n; i++) {
    double l = A[(size_t)i * n + i];
    if (!(l * l > tol)) positive = 0;
  }
  if (positive) {
    // M = L^T S2 L in the lower triangle of B (itype 2 uses the symmetry of S2: about n^3 flops)
    symmetrized_lower(S2, n, eps, B);
    const int itype = 2;
    dsygst_(&itype, "L", &n, B, &n, A, &n, &info, 1);
    if (info != 0) {
      res.status = info < 0 ? -2 : info;
    } else {
      res.rank = n;
      res.status = symmetric_eigenvalues(B, n, w);
    }
    free(A);
    free(B);
    return res;
  }
  res.pivoted = 1;
  symmetrized_lower(S1, n, eps, A);
  int *piv = malloc(sizeof(int) * (size_t)n);
  double *work = malloc(sizeof(double) * 2 * (size_t)n);
  int rank = 0;
  if (piv == NULL || work == NULL) {
    res.status = -1;
  } else {
    dpstrf_("L", &n, A, &n, piv, &rank, &tol, work, &info, 1);
    if (info < 0) res.status = -2;
  }
  free(work);
  if (res.status != 0 || rank == 0) {
    free(piv);
    free(A);
    free(B);
    return res;
  }
  const int r = rank;
  res.rank = r;
  // L_r: the first r columns of A, lower-trapezoidal (dpstrf leaves junk above the diagonal and beyond column r)
  for (int j = 0; j < r; j++) memset(A + (size_t)j * n, 0, sizeof(double) * (size_t)j);
  // S2[p, p], lower triangle (column-major), from the row-major input
  for (int j = 0; j < n; j++) {
    const int pj = piv[j] - 1;
    double *col = B + (size_t)j * n;
    for (int i = j; i < n; i++) col[i] = symmetrized_at(S2, n, piv[i] - 1, pj, eps);
  }
  free(piv);
  double *C = malloc(sizeof(double) * (size_t)n * r);
  double *M = malloc(sizeof(double) * (size_t)r * r);
  if (C == NULL || M == NULL) {
    res.status = -1;
  } else {
    const double one = 1, zero = 0;
    // C = S2[p, p] L_r (n x r), M = L_r^T C (r x r)
    dsymm_("L", "L", &n, &r, &one, B, &n, A, &n, &zero, C, &n, 1, 1);
    dgemm_("T", "N", &r, &r, &n, &one, A, &n, C, &n, &zero, M, &r, 1, 1);
    res.status = symmetric_eigenvalues(M, r, w);
  }
  free(C);
  free(M);
  free(A);
  free(B);
  return res;
}

#define CALL(env, expr)                                            \
  do {                                                             \
    if ((expr) != napi_ok) {                                       \
      napi_throw_error((env), NULL, "vsdlab_lapack: N-API failed"); \
      return NULL;                                                 \
    }                                                              \
  } while (0)

static int float64_arg(napi_env env, napi_value v, double **data, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  void *ptr = NULL;
  if (napi_get_typedarray_info(env, v, &type, length, &ptr, NULL, NULL) != napi_ok || type != napi_float64_array) return 0;
  *data = ptr;
  return 1;
}

// choleskyProductEigenvalues(sigma1, sigma2, d, eps): { eigenvalues (ascending, length rank), pivoted } or
// null when the eigenvalue solver did not converge (the caller then takes the js path)
static napi_value js_cholesky_product_eigenvalues(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  double *S1 = NULL, *S2 = NULL;
  size_t len1 = 0, len2 = 0;
  int64_t d = 0;
  double eps = 0;
  if (argc < 4 || !float64_arg(env, argv[0], &S1, &len1) || !float64_arg(env, argv[1], &S2, &len2) ||
      napi_get_value_int64(env, argv[2], &d) != napi_ok || napi_get_value_double(env, argv[3], &eps) != napi_ok) {
    napi_throw_type_error(env, NULL, "choleskyProductEigenvalues(sigma1: Float64Array, sigma2: Float64Array, d: number, eps: number)");
    return NULL;
  }
  if (d < 1 || d > 46340 || len1 != (size_t)(d * d) || len2 != (size_t)(d * d) || !(eps >= 0 && eps <= DBL_MAX)) {
    napi_throw_range_error(env, NULL, "choleskyProductEigenvalues: sigma1 and sigma2 must hold d x d values, eps >= 0");
    return NULL;
  }
  const int n = (int)d;
  napi_value buffer, eigenvalues, out, flag;
  double *w = NULL;
  CALL(env, napi_create_arraybuffer(env, sizeof(double) * (size_t)n, (void **)&w, &buffer));
  product_result r = cholesky_product_eigenvalues(S1, S2, n, eps, w);
  if (r.status == -1) {
    napi_throw_error(env, "ENOMEM", "choleskyProductEigenvalues: out of memory");
    return NULL;
  }
  if (r.status < -1) {
    napi_throw_error(env, NULL, "choleskyProductEigenvalues: LAPACK rejected an argument");
    return NULL;
  }
  if (r.status > 0) {
    CALL(env, napi_get_null(env, &out));
    return out;
  }
  CALL(env, napi_create_typedarray(env, napi_float64_array, (size_t)r.rank, buffer, 0, &eigenvalues));
  CALL(env, napi_create_object(env, &out));
  CALL(env, napi_set_named_property(env, out, "eigenvalues", eigenvalues));
  CALL(env, napi_get_boolean(env, r.pivoted != 0, &flag));
  CALL(env, napi_set_named_property(env, out, "pivoted", flag));
  return out;
}

// info(): { openblas: build configuration string, threads }
static napi_value js_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, config, threads;
  const char *c = openblas_get_config();
  CALL(env, napi_create_object(env, &out));
  CALL(env, napi_create_string_utf8(env, c == NULL ? "" : c, NAPI_AUTO_LENGTH, &config));
  CALL(env, napi_create_int32(env, openblas_get_num_threads(), &threads));
  CALL(env, napi_set_named_property(env, out, "openblas", config));
  CALL(env, napi_set_named_property(env, out, "threads", threads));
  return out;
}

NAPI_MODULE_INIT() {
  // one thread unless the user asked otherwise: on the shared 2-core machine a second openblas thread cost
  // cpu time and gained no wall time (measured at d = 2048)
  if (getenv("OPENBLAS_NUM_THREADS") == NULL && getenv("OMP_NUM_THREADS") == NULL) openblas_set_num_threads(1);
  napi_value fn;
  CALL(env, napi_create_function(env, "choleskyProductEigenvalues", NAPI_AUTO_LENGTH, js_cholesky_product_eigenvalues, NULL, &fn));
  CALL(env, napi_set_named_property(env, exports, "choleskyProductEigenvalues", fn));
  CALL(env, napi_create_function(env, "info", NAPI_AUTO_LENGTH, js_info, NULL, &fn));
  CALL(env, napi_set_named_property(env, exports, "info", fn));
  return exports;
}
