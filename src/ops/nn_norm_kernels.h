// The loops of the fused norm and loss kernels. nn_norm.cpp includes this file twice, into
// namespaces `base` (the build's baseline ISA) and `avx2` (AVX2+FMA, chosen at run time), so it
// has no include guard and must only be included there. Every kernel works on contiguous float or
// double buffers; parallel_for splits rows / channels / samples over threads.

// Sum of f(i) for i in [0, n) with 8 independent accumulators, so the loop vectorises without
// reassociating (and sums more accurately than one running total).
template <class T, class F>
inline T lanes_sum(int64_t n, const F& f) {
  T acc[8] = {T(0), T(0), T(0), T(0), T(0), T(0), T(0), T(0)};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += f(i + j);
  T s = T(0);
  for (; i < n; ++i) s += f(i);
  return s + (((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])));
}
// Max of f(i); NaNs may be dropped (callers sum exp(x - max), which brings them back).
template <class T, class F>
inline T lanes_max(int64_t n, const F& f) {
  T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < n; ++i) { T v = f(i); m = v > m ? v : m; }
  return m;
}

// ---- layer norm: M rows of N

template <class T>
void layer_norm_fwd(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t M,
                    int64_t N, double eps) {
  parallel_for(0, M, std::max<int64_t>(1, kNormGrain / std::max<int64_t>(N, 1)), [=](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * N;
      T* yr = y + r * N;
      T mu = lanes_sum<T>(N, [&](int64_t i) { return xr[i]; }) / T(N);
      T var = lanes_sum<T>(N, [&](int64_t i) { T d = xr[i] - mu; return d * d; }) / T(N);
      T rs = T(1) / std::sqrt(var + T(eps));
      mean[r] = mu;
      rstd[r] = rs;
      if (w && b) for (int64_t i = 0; i < N; ++i) yr[i] = (xr[i] - mu) * rs * w[i] + b[i];
      else if (w) for (int64_t i = 0; i < N; ++i) yr[i] = (xr[i] - mu) * rs * w[i];
      else if (b) for (int64_t i = 0; i < N; ++i) yr[i] = (xr[i] - mu) * rs + b[i];
      else for (int64_t i = 0; i < N; ++i) yr[i] = (xr[i] - mu) * rs;
    }
  });
}

// dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)) per row, gw = g * w; dw, db summed over
// rows in a second pass parallel over columns (no per-thread partial buffers).
template <class T>
void layer_norm_bwd(const T* g, const T* x, const T* mean, const T* rstd, const T* w, T* dx, T* dw,
                    T* db, int64_t M, int64_t N) {
  if (dx) {
    parallel_for(0, M, std::max<int64_t>(1, kNormGrain / std::max<int64_t>(N, 1)), [=](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* gr = g + r * N;
        const T* xr = x + r * N;
        T* dr = dx + r * N;
        const T mu = mean[r], rs = rstd[r];
        T a, c;
        if (w) {
          a = lanes_sum<T>(N, [&](int64_t i) { return gr[i] * w[i]; });
          c = lanes_sum<T>(N, [&](int64_t i) { return gr[i] * w[i] * (xr[i] - mu); });
        } else {
          a = lanes_sum<T>(N, [&](int64_t i) { return gr[i]; });
          c = lanes_sum<T>(N, [&](int64_t i) { return gr[i] * (xr[i] - mu); });
        }
        const T c1 = a / T(N), c2 = c * rs * rs / T(N);
        if (w) for (int64_t i = 0; i < N; ++i) dr[i] = rs * (gr[i] * w[i] - c1 - (xr[i] - mu) * c2);
        else for (int64_t i = 0; i < N; ++i) dr[i] = rs * (gr[i] - c1 - (xr[i] - mu) * c2);
      }
    });
  }
  if (dw || db) {
    parallel_for(0, N, std::max<int64_t>(1, kNormGrain / std::max<int64_t>(M, 1)), [=](int64_t c0, int64_t c1) {
      for (int64_t j = c0; j < c1; ++j) {
        if (dw) dw[j] = T(0);
        if (db) db[j] = T(0);
      }
      for (int64_t r = 0; r < M; ++r) {
        const T* gr = g + r * N;
        const T* xr = x + r * N;
        const T mu = mean[r], rs = rstd[r];
        if (dw) for (int64_t j = c0; j < c1; ++j) dw[j] += gr[j] * (xr[j] - mu) * rs;
        if (db) for (int64_t j = c0; j < c1; ++j) db[j] += gr[j];
      }
    });
  }
}

// ---- batch norm over [N, C, S], parallel over channels

template <class T>
void batch_norm_stats(const T* x, int64_t N, int64_t C, int64_t S, T* mean, T* var) {
  const int64_t per = N * S;
  parallel_for(0, C, std::max<int64_t>(1, kNormGrain / std::max<int64_t>(per, 1)), [=](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      T s = T(0);
      for (int64_t n = 0; n < N; ++n) {
        const T* p = x + (n * C + c) * S;
        s += lanes_sum<T>(S, [&](int64_t i) { return p[i]; });
      }
      const T mu = s / T(per);
      T v = T(0);
      for (int64_t n = 0; n < N; ++n) {
        const T* p = x + (n * C + c) * S;
        v += lanes_sum<T>(S, [&](int64_t i) { T d = p[i] - mu; return d * d; });
      }
      mean[c] = mu;
      var[c] = v / T(per);
    }
  });
}

// y = x * scale[c] + shift[c] over [N, C, S] (also group norm's per-channel affine).
template <class T>
void channel_affine(const T* x, const T* scale, const T* shift, T* y, int64_t N, int64_t C, int64_t S) {
  parallel_for(0, N * C, std::max<int64_t>(1, kNormGrain / std::max<int64_t>(S, 1)), [=](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const T a = scale[p % C], b = shift[p % C];
      const T* xp = x + p * S;
      T* yp = y + p * S;
      for (int64_t i = 0; i < S; ++i) yp[i] = xp[i] * a + b;
    }
  });
}

// training: dx = w * invstd * (g - mean(g) - xhat * mean(g * xhat)); eval: dx = g * w * invstd.
// dw = sum(g * xhat), db = sum(g) per channel.
template <class T>
void batch_norm_bwd(const T* g, const T* x, const T* mean, const T* invstd, const T* w, T* dx, T* dw,
                    T* db, int64_t N, int64_t C, int64_t S, bool training) {
  const int64_t per = N * S;
  parallel_for(0, C, std::max<int64_t>(1, kNormGrain / std::max<int64_t>(per, 1)), [=](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const T mu = mean[c], is = invstd[c], wc = w ? w[c] : T(1);
      T sg = T(0), sgx = T(0);
      for (int64_t n = 0; n < N; ++n) {
        const T* gp = g + (n * C + c) * S;
        const T* xp = x + (n * C + c) * S;
        sg += lanes_sum<T>(S, [&](int64_t i) { return gp[i]; });
        sgx += lanes_sum<T>(S, [&](int64_t i) { return gp[i] * (xp[i] - mu); });
      }
      if (dw) dw[c] = sgx * is;
      if (db) db[c] = sg;
      if (!dx) continue;
      const T k = wc * is;
      const T c1 = training ? sg / T(per) : T(0);
      const T c2 = training ? sgx * is * is / T(per) : T(0);
      for (int64_t n = 0; n < N; ++n) {
        const T* gp = g + (n * C + c) * S;
        const T* xp = x + (n * C + c) * S;
        T* dp = dx + (n * C + c) * S;
        for (int64_t i = 0; i < S; ++i) dp[i] = k * (gp[i] - c1 - (xp[i] - mu) * c2);
      }
    }
  });
}

// ---- group norm over [N, C, S], G groups of D = C / G channels; statistics per (n, g)

template <class T>
void group_norm_fwd(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t N, int64_t C,
                    int64_t S, int64_t G, double eps) {
  const int64_t D = C / G, len = D * S;
  parallel_for(0, N * G, std::max<int64_t>(1, kNormGrain / std::max<int64_t>(len, 1)), [=](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const T* xq = x + q * len;
      T* yq = y + q * len;
      const T mu = lanes_sum<T>(len, [&](int64_t i) { return xq[i]; }) / T(len);
      const T var = lanes_sum<T>(len, [&](int64_t i) { T d = xq[i] - mu; return d * d; }) / T(len);
      const T rs = T(1) / std::sqrt(var + T(eps));
      mean[q] = mu;
      rstd[q] = rs;
      const int64_t g = q % G;
      for (int64_t d = 0; d < D; ++d) {
        const int64_t c = g * D + d;
        const T a = rs * (w ? w[c] : T(1));
        const T sh = (b ? b[c] : T(0)) - mu * a;
        const T* xp = xq + d * S;
        T* yp = yq + d * S;
        for (int64_t i = 0; i < S; ++i) yp[i] = xp[i] * a + sh;
      }
    }
  });
}

// Per (n, c): ds = sum_s g * x, dbs = sum_s g; then per group
// dx = rstd * (g * w_c - mean(g * w) - xhat * mean(g * w * xhat)), dw/db summed over n.
template <class T>
void group_norm_bwd(const T* g, const T* x, const T* mean, const T* rstd, const T* w, T* dx, T* dw,
                    T* db, int64_t N, int64_t C, int64_t S, int64_t G) {
  const int64_t D = C / G, len = D * S;
  std::vector<T> ds_buf(static_cast<size_t>(N * C)), dbs_buf(static_cast<size_t>(N * C));
  T* ds = ds_buf.data();
  T* dbs = dbs_buf.data();
  parallel_for(0, N * C, std::max<int64_t>(1, kNormGrain / std::max<int64_t>(S, 1)), [=](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const T* gp = g + p * S;
      const T* xp = x + p * S;
      ds[p] = lanes_sum<T>(S, [&](int64_t i) { return gp[i] * xp[i]; });
      dbs[p] = lanes_sum<T>(S, [&](int64_t i) { return gp[i]; });
    }
  });
  if (dx) {
    parallel_for(0, N * G, std::max<int64_t>(1, kNormGrain / std::max<int64_t>(len, 1)), [=](int64_t q0, int64_t q1) {
      for (int64_t q = q0; q < q1; ++q) {
        const int64_t n = q / G, gi = q % G;
        const T mu = mean[q], rs = rstd[q];
        T a = T(0), bq = T(0);
        for (int64_t d = 0; d < D; ++d) {
          const int64_t c = gi * D + d;
          const T wc = w ? w[c] : T(1);
          a += wc * dbs[n * C + c];
          bq += wc * (ds[n * C + c] - mu * dbs[n * C + c]);
        }
        const T c1 = a / T(len), c2 = bq * rs * rs / T(len);
        for (int64_t d = 0; d < D; ++d) {
          const int64_t c = gi * D + d;
          const T wc = w ? w[c] : T(1);
          const T* gp = g + (n * C + c) * S;
          const T* xp = x + (n * C + c) * S;
          T* dp = dx + (n * C + c) * S;
          for (int64_t i = 0; i < S; ++i) dp[i] = rs * (gp[i] * wc - c1 - (xp[i] - mu) * c2);
        }
      }
    });
  }
  for (int64_t c = 0; c < C; ++c) {
    T sw = T(0), sb = T(0);
    for (int64_t n = 0; n < N; ++n) {
      const int64_t q = n * G + c / D;
      sw += rstd[q] * (ds[n * C + c] - mean[q] * dbs[n * C + c]);
      sb += dbs[n * C + c];
    }
    if (dw) dw[c] = sw;
    if (db) db[c] = sb;
  }
}

// ---- cross entropy over [outer, C, inner] with class-index targets.
// Per sample: lse = logsumexp_c x, wt = w[t] (1 without weight, 0 when ignored),
// loss = (1 - ls) * wt * (lse - x_t) + ls / C * (Wsum * lse - sum_c w_c x_c).
template <class T>
void cross_entropy_fwd(const T* x, const int64_t* tg, const T* w, T wsum, int64_t outer, int64_t C,
                       int64_t inner, int64_t ignore, T ls, T* loss, T* lse, T* wt) {
  const T smooth = ls / T(C), keep = T(1) - ls;
  if (inner == 1) {
    parallel_for(0, outer, std::max<int64_t>(1, kNormGrain / 4 / std::max<int64_t>(C, 1)), [=](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t t = tg[r];
        if (t == ignore) { loss[r] = T(0); lse[r] = T(0); wt[r] = T(0); continue; }
        const T* xr = x + r * C;
        const T mx = lanes_max<T>(C, [&](int64_t i) { return xr[i]; });
        const T m = std::isfinite(mx) ? mx : T(0);
        T se = T(0);
#pragma omp simd reduction(+ : se)
        for (int64_t i = 0; i < C; ++i) se += math::exp(xr[i] - m);
        const T l = m + std::log(se);
        const T wr = w ? w[t] : T(1);
        T v = keep * wr * (l - xr[t]);
        if (ls > T(0)) {
          const T sx = w ? lanes_sum<T>(C, [&](int64_t i) { return w[i] * xr[i]; })
                         : lanes_sum<T>(C, [&](int64_t i) { return xr[i]; });
          v += smooth * (wsum * l - sx);
        }
        loss[r] = v;
        lse[r] = l;
        wt[r] = wr;
      }
    });
    return;
  }
  // Class dim strided by `inner`: per outer block, walk the classes with vectors over inner.
  parallel_for(0, outer, std::max<int64_t>(1, kNormGrain / 4 / std::max<int64_t>(C * inner, 1)), [=](int64_t o0, int64_t o1) {
    std::vector<T> mx(static_cast<size_t>(inner)), se(static_cast<size_t>(inner)), sx(static_cast<size_t>(inner));
    for (int64_t o = o0; o < o1; ++o) {
      const T* xo = x + o * C * inner;
      std::fill(mx.begin(), mx.end(), -std::numeric_limits<T>::infinity());
      std::fill(se.begin(), se.end(), T(0));
      std::fill(sx.begin(), sx.end(), T(0));
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < inner; ++i) mx[i] = xo[c * inner + i] > mx[i] ? xo[c * inner + i] : mx[i];
      for (int64_t i = 0; i < inner; ++i) mx[i] = std::isfinite(mx[i]) ? mx[i] : T(0);
      for (int64_t c = 0; c < C; ++c) {
        const T wc = w ? w[c] : T(1);
        for (int64_t i = 0; i < inner; ++i) {
          se[i] += math::exp(xo[c * inner + i] - mx[i]);
          sx[i] += wc * xo[c * inner + i];
        }
      }
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t k = o * inner + i, t = tg[k];
        if (t == ignore) { loss[k] = T(0); lse[k] = T(0); wt[k] = T(0); continue; }
        const T l = mx[i] + std::log(se[i]);
        const T wr = w ? w[t] : T(1);
        T v = keep * wr * (l - xo[t * inner + i]);
        if (ls > T(0)) v += smooth * (wsum * l - sx[i]);
        loss[k] = v;
        lse[k] = l;
        wt[k] = wr;
      }
    }
  });
}

// dx[o, c, i] = s_k * (softmax * (keep * wt + smooth * Wsum) - keep * wt * [c == t] - smooth * w_c),
// s_k the scaled output gradient of sample k (0 for ignored samples).
template <class T>
void cross_entropy_bwd(const T* x, const int64_t* tg, const T* w, T wsum, const T* lse, const T* wt,
                       const T* gs, bool g_per_sample, T g_scale, int64_t outer, int64_t C,
                       int64_t inner, int64_t ignore, T ls, T* dx) {
  const T smooth = ls / T(C), keep = T(1) - ls;
  if (inner > 1) {
    // Class dim strided by `inner`: per outer block, per-sample factors first, then every loop
    // runs along contiguous memory (ignored samples have zero factors).
    parallel_for(0, outer, std::max<int64_t>(1, kNormGrain / 2 / std::max<int64_t>(C * inner, 1)), [=](int64_t o0, int64_t o1) {
      std::vector<T> coef(static_cast<size_t>(inner)), ss(static_cast<size_t>(inner)), l(static_cast<size_t>(inner));
      for (int64_t o = o0; o < o1; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t k = o * inner + i;
          const bool ign = tg[k] == ignore;
          const T s = ign ? T(0) : (g_per_sample ? gs[k] : gs[0]) * g_scale;
          coef[i] = s * (keep * wt[k] + smooth * wsum);
          ss[i] = s * smooth;
          l[i] = ign ? T(0) : lse[k];
        }
        for (int64_t c = 0; c < C; ++c) {
          const T wc = w ? w[c] : T(1);
          const T* xp = x + (o * C + c) * inner;
          T* dp = dx + (o * C + c) * inner;
          for (int64_t i = 0; i < inner; ++i) {
            // ignored samples: exactly 0 even where exp would overflow
            const T e = coef[i] == T(0) ? T(0) : coef[i] * math::exp(xp[i] - l[i]);
            dp[i] = e - ss[i] * wc;
          }
        }
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t k = o * inner + i, t = tg[k];
          if (t == ignore) continue;
          const T s = (g_per_sample ? gs[k] : gs[0]) * g_scale;
          dx[(o * C + t) * inner + i] -= s * keep * wt[k];
        }
      }
    });
    return;
  }
  parallel_for(0, outer, std::max<int64_t>(1, kNormGrain / 2 / std::max<int64_t>(C, 1)), [=](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      const int64_t t = tg[o];
      const T* xp = x + o * C;
      T* dp = dx + o * C;
      if (t == ignore) {
        std::fill(dp, dp + C, T(0));
        continue;
      }
      const T s = (g_per_sample ? gs[o] : gs[0]) * g_scale;
      const T l = lse[o], coef = s * (keep * wt[o] + smooth * wsum), ss = s * smooth;
      if (w && ls > T(0)) {
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) dp[c] = coef * math::exp(xp[c] - l) - ss * w[c];
      } else {
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) dp[c] = coef * math::exp(xp[c] - l) - ss;
      }
      dp[t] -= s * keep * wt[o];
    }
  });
}

// ---- embedding backward: dw[idx[k]] += f_k * g[k] over rows of D, each thread owning a range of
// weight rows (every thread scans all indices; the adds of a row happen in index order).
template <class T>
void embedding_bwd(const T* g, const int64_t* idx, const T* factor, int64_t n, int64_t V, int64_t D,
                   int64_t padding_idx, T* dw) {
  const int64_t work = std::max<int64_t>(1, (V * D + n * D) / std::max<int64_t>(V, 1));
  parallel_for(0, V, std::max<int64_t>(1, kNormGrain / work), [=](int64_t v0, int64_t v1) {
    std::fill(dw + v0 * D, dw + v1 * D, T(0));
    for (int64_t k = 0; k < n; ++k) {
      const int64_t v = idx[k];
      if (v < v0 || v >= v1 || v == padding_idx) continue;
      const T f = factor ? factor[k] : T(1);
      const T* gk = g + k * D;
      T* dv = dw + v * D;
      for (int64_t j = 0; j < D; ++j) dv[j] += f * gk[j];
    }
  });
}
