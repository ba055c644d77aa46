#!/usr/bin/python3
"""Golden values for tests/test_ref_multilabel.c.

Run with /usr/bin/python3 (scikit-learn 1.2.1, PyTorch 1.13, NumPy): it prints
the C data arrays and the golden structs pasted into the test. The values
come from scikit-learn's metrics (and PyTorch's BCEWithLogitsLoss), an
implementation independent of src/reference/ref_multilabel.c. Where
scikit-learn 1.2.1 has no direct answer the script says how it derives one:
- zero_division=NaN (scikit-learn >= 1.3): a value is undefined where
  zero_division=0 and =1 disagree; undefined values are left out of the
  averages as sklearn 1.3's _nanaverage does (nanavg below).
- samples-averaged values per row: the rows are the labels of the transposed
  problem (precision_recall_fscore_support(Y.T, P.T, average=None)).
- L = 1: sklearn sees an n x 1 indicator as binary; label 1 of the raveled
  column (labels=[1]) is the multilabel label.
- +-inf logits: the ranking metrics refuse them, so +-1e30 stand in (same
  order); BCE of a cell whose infinite logit agrees with its label is 0
  (as with +-1e4), one that disagrees costs +inf (torch gives NaN there).
- Rows of weight 0 add no loss (the project's convention for weights).
"""
import numpy as np, torch, warnings
from sklearn.metrics import (precision_recall_fscore_support as prfs,
    jaccard_score, accuracy_score, hamming_loss, coverage_error,
    label_ranking_average_precision_score as lrap, label_ranking_loss,
    roc_auc_score, multilabel_confusion_matrix, log_loss)
warnings.filterwarnings("ignore")
FEPS = float(np.finfo(np.float32).eps)

def fin(S):  # sklearn refuses +-inf; ranking only needs the order
    return np.where(np.isposinf(S), 1e30, np.where(np.isneginf(S), -1e30, S))

def bce_label(Y, S, k, kind, w):
    y = Y[:, k].astype(np.float64); s = S[:, k]
    if kind == 'probs':
        return log_loss(y, s, sample_weight=w, eps=FEPS, labels=[0, 1])
    # disagreeing infinite logits cost +inf (torch gives NaN there)
    bad = (np.isposinf(s) & (y == 0)) | (np.isneginf(s) & (y == 1))
    if (bad & ((w if w is not None else np.ones(len(y))) > 0)).any():
        return np.inf
    z = np.clip(s, -1e4, 1e4)  # agreeing +-inf cost exactly 0, as +-1e4 does
    l = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(z), torch.tensor(y), reduction='none').numpy()
    ww = np.ones(len(y)) if w is None else w
    return np.sum(np.where(ww > 0, ww * l, 0.0)) / np.sum(ww)

def nanavg(a, wt=None):  # sklearn >= 1.3 _nanaverage
    m = np.isnan(a)
    if m.all(): return np.nan
    if wt is None: return np.mean(a[~m])
    a, wt = a[~m], np.asarray(wt)[~m]
    return np.average(a) if wt.sum() == 0 else np.average(a, weights=wt)

def golden(name, Y, S, kind, thr, w, zd):
    Y = np.asarray(Y, dtype=np.int64); n, L = Y.shape
    if kind == 'pred':
        P = np.asarray(S, dtype=np.int64)
    else:
        S = np.asarray(S, dtype=np.float32).astype(np.float64)
        prob = S if kind == 'probs' else 1 / (1 + np.exp(-S))
        P = (prob > np.asarray(thr)).astype(np.int64)
    w = None if w is None else np.asarray(w, dtype=np.float32).astype(np.float64)
    ww = np.ones(n) if w is None else w
    z = 0 if zd == 'nan' else zd
    out = {}
    YY, PP, kw = (Y, P, {}) if L > 1 else (Y.ravel(), P.ravel(), dict(labels=[1]))
    mcm = multilabel_confusion_matrix(YY, PP, **kw, sample_weight=w)
    cnt = multilabel_confusion_matrix(YY, PP, **kw)
    per = [prfs(YY, PP, **kw, average=None, sample_weight=w, zero_division=v)[:3] for v in (0, 1)]
    jper = [jaccard_score(YY, PP, **kw, average=None, sample_weight=w, zero_division=v) for v in (0, 1)]
    lab = []
    for k in range(L):
        und = 0; vals = []
        for i, bit in enumerate((1, 2, 4)):
            a, b = per[0][i][k], per[1][i][k]
            if a != b: und |= bit
            vals.append(np.nan if (a != b and zd == 'nan') else (a if z == 0 else b))
        a, b = jper[0][k], jper[1][k]
        if a != b: und |= 128
        vals.append(np.nan if (a != b and zd == 'nan') else (a if z == 0 else b))
        bce = np.nan if kind == 'pred' else bce_label(Y, S, k, kind, w)
        lab.append(dict(cnt=[int(cnt[k][1, 1]), int(cnt[k][0, 1]), int(cnt[k][0, 0]), int(cnt[k][1, 0])],
                        wc=[mcm[k][1, 1], mcm[k][0, 1], mcm[k][0, 0], mcm[k][1, 0]],
                        v=vals + [bce], und=und))
    out['labels'] = lab
    sup = np.array([mcm[k][1, 1] + mcm[k][1, 0] for k in range(L)])
    if zd != 'nan':
        for avg in ('micro', 'macro', 'weighted', 'samples')[:4 if L > 1 else 3]:
            out[avg] = list(prfs(YY, PP, **kw, average=avg, sample_weight=w, zero_division=z)[:3])
        for avg in ('micro', 'macro', 'samples')[:3 if L > 1 else 2]:
            out['j' + avg] = jaccard_score(YY, PP, **kw, average=avg, sample_weight=w, zero_division=z)
    else:
        m0 = prfs(YY, PP, **kw, average='micro', sample_weight=w, zero_division=0)[:3]
        m1 = prfs(YY, PP, **kw, average='micro', sample_weight=w, zero_division=1)[:3]
        out['micro'] = [a if a == b else np.nan for a, b in zip(m0, m1)]
        V = [np.array([lab[k]['v'][i] for k in range(L)]) for i in range(4)]
        out['macro'] = [nanavg(V[i]) for i in range(3)]
        if sup.sum() == 0:  # sklearn 1.2.1's early return, NaN for zero_division
            pz = sum(mcm[k][1, 1] + mcm[k][0, 1] for k in range(L)) == 0
            out['weighted'] = [np.nan] * 3 if pz else [0.0, np.nan, 0.0]
        else:
            out['weighted'] = [nanavg(V[i], sup) for i in range(3)]
        out['jmicro'] = (lambda a, b: a if a == b else np.nan)(
            jaccard_score(YY, PP, **kw, average='micro', sample_weight=w, zero_division=0),
            jaccard_score(YY, PP, **kw, average='micro', sample_weight=w, zero_division=1))
        out['jmacro'] = nanavg(V[3])
    # per-row values: the rows as labels of the transposed problem
    rows = []
    for v in (0, 1):
        pr = prfs(Y.T, P.T, average=None, zero_division=v)[:3]
        jr = jaccard_score(Y.T, P.T, average=None, zero_division=v)
        rows.append([pr[0], pr[1], pr[2], jr])
    sund = 0
    for i, bit in enumerate((1, 2, 4, 128)):
        d = (rows[0][i] != rows[1][i]) & (ww > 0)
        if d.any(): sund |= bit
    out['sund'] = sund
    if zd == 'nan' or L == 1:
        vals = []
        for i in range(4):
            r = np.where(rows[0][i] != rows[1][i], np.nan, rows[0][i]) if zd == 'nan' else rows[z][i]
            r = np.where(ww > 0, r, np.nan) if zd == 'nan' else r
            vals.append(nanavg(r, ww) if zd == 'nan' else np.average(r, weights=ww))
        out['samples'] = vals[:3]; out['jsamples'] = vals[3]
    out['subset'] = accuracy_score(YY, PP, sample_weight=w)
    out['hamming'] = hamming_loss(YY, PP, sample_weight=w)
    out['bce'] = np.nan if kind == 'pred' else np.mean([l['v'][4] for l in lab])
    if kind == 'pred':
        out['rank'] = [np.nan] * 4
    elif L == 1:  # sklearn's ranking metrics refuse an n x 1 indicator
        out['rank'] = [np.average(Y[:, 0], weights=ww), 1.0, 0.0, np.nan]
    else:
        F = fin(S)
        cov = coverage_error(Y, F, sample_weight=w)
        lr = lrap(Y, F, sample_weight=w)
        ll = label_ranking_loss(Y, F, sample_weight=w)
        t = Y.sum(1); pos = ww > 0
        if ((t[pos] == 0) | (t[pos] == L)).any():
            auc = np.nan
        else:
            auc = roc_auc_score(Y[pos], F[pos], average='samples', sample_weight=None if w is None else w[pos])
        out['rank'] = [cov, lr, ll, auc]
    return out

def c(x):
    if np.isnan(x): return 'NAN'
    if np.isinf(x): return 'INFINITY' if x > 0 else '-INFINITY'
    return repr(float(x))

def emit(name, o):
    print(f'static const struct ml_golden {name} = {{')
    print('  .labels = {')
    for l in o['labels']:
        print('    {{%s}, {%s}, {%s}, 0x%x},' % (', '.join(str(x) for x in l['cnt']),
              ', '.join(c(x) for x in l['wc']), ', '.join(c(x) for x in l['v']), l['und']))
    print('  },')
    for k in ('micro', 'macro', 'weighted', 'samples'):
        print(f'  .{k} = {{{", ".join(c(x) for x in o[k])}}},')
    print(f'  .jaccard = {{{c(o["jmicro"])}, {c(o["jmacro"])}, {c(o["jsamples"])}}},')
    print(f'  .subset_accuracy = {c(o["subset"])}, .hamming_loss = {c(o["hamming"])},')
    print(f'  .bce_mean = {c(o["bce"])},')
    print(f'  .ranking = {{{", ".join(c(x) for x in o["rank"])}}},')
    print(f'  .samples_undefined = 0x{o["sund"]:x}}};')

inf = np.inf
A_Y = [[1,0,1,0,0],[0,0,0,0,0],[1,1,0,0,0],[0,1,1,0,0],[1,0,0,0,0],[0,0,1,0,0]]
A_Z = [[2.0,-1.0,0.5,0.5,-4.0],[-1.0,-2.0,-0.5,-3.0,-1.0],[1.5,-0.25,-0.25,0.75,-2.0],
       [-0.5,1.0,1.0,-1.0,-3.0],[-0.75,0.25,-2.0,-1.5,-0.75],[0.0,0.0,0.0,0.0,-5.0]]
B_Y = [[1,0,1],[0,1,0],[1,1,0],[0,0,1],[0,0,0],[1,0,0],[0,1,1],[0,0,0]]
B_P = [[0.875,0.125,0.8125],[0.25,0.375,0.5],[0.4375,0.1875,0.9375],[1.0,0.0,0.0],
       [0.0625,0.125,0.25],[0.0,0.5,0.625],[0.625,0.3125,1.0],[0.125,0.0625,0.5]]
B_T = [0.5,0.25,0.75]
B_W = [1.0,0.5,2.0,0.0,1.5,0.25,3.0,0.0]
C_Y = [[1,0,0,1],[0,1,0,0],[1,1,1,0],[0,0,1,1],[0,0,0,0]]
C_Z = [[inf,-1.0,0.5,inf],[0.25,0.25,-inf,-inf],[-inf,3.0,3.0,3.0],[-2.0,-inf,-0.5,inf],[1.0,inf,-1.0,0.0]]
C_W = [1.0,2.0,0.5,1.25,0.0]
D_Y = [[1],[0],[0],[1],[0],[0]]
D_Z = [[-0.5],[-1.0],[2.0],[-inf],[0.0],[-0.75]]
D_T = [0.3]
E_Y = [[1,0,1],[0,1,1],[1,1,0],[0,0,0],[1,0,0]]
E_P = [[1,1,0],[0,1,1],[0,0,0],[1,0,0],[1,0,0]]
E_W = [1.0,2.0,0.0,0.5,1.0]
F_Y = [[0,0],[0,0],[0,0]]
F_P = [[0,1],[0,0],[0,0]]
G_P = [[0,0],[0,0],[0,0]]
H_Y = [[1,0],[1,0],[0,0]]
H_P = [[0,1],[0,0],[0,0]]
runs = [
 ('gold_a_zd0', A_Y, A_Z, 'logits', 0.5, None, 0),
 ('gold_a_zd1', A_Y, A_Z, 'logits', 0.5, None, 1),
 ('gold_a_nan', A_Y, A_Z, 'logits', 0.5, None, 'nan'),
 ('gold_b_zd1', B_Y, B_P, 'probs', B_T, B_W, 1),
 ('gold_b_nan', B_Y, B_P, 'probs', B_T, B_W, 'nan'),
 ('gold_c_zd0', C_Y, C_Z, 'logits', 0.5, C_W, 0),
 ('gold_c_unw', C_Y, C_Z, 'logits', 0.5, None, 0),
 ('gold_d_zd1', D_Y, D_Z, 'logits', D_T, None, 1),
 ('gold_d_nan', D_Y, D_Z, 'logits', D_T, None, 'nan'),
 ('gold_e_zd1', E_Y, E_P, 'pred', None, E_W, 1),
 ('gold_e_nan', E_Y, E_P, 'pred', None, E_W, 'nan'),
 ('gold_f_zd1', F_Y, F_P, 'pred', None, None, 1),
 ('gold_f_nan', F_Y, F_P, 'pred', None, None, 'nan'),
 ('gold_g_zd0', F_Y, G_P, 'pred', None, None, 0),
 ('gold_g_zd1', F_Y, G_P, 'pred', None, None, 1),
 ('gold_g_nan', F_Y, G_P, 'pred', None, None, 'nan'),
 ('gold_h_nan', H_Y, H_P, 'pred', None, None, 'nan'),
]


def cf(x):
    if np.isposinf(x): return 'INFINITY'
    if np.isneginf(x): return '-INFINITY'
    return repr(float(x)) + 'f'


def mat(name, M, ty):
    M = np.asarray(M); n, L = M.shape
    print(f'static const {ty} {name}[{n} * {L}] = {{')
    for row in M:
        print('    ' + ', '.join(str(int(v)) if ty == 'uint8_t' else cf(v) for v in row) + ',')
    print('};')


def vec(name, v, ty):
    print(f'static const {ty} {name}[{len(v)}] = {{' +
          ', '.join(cf(x) if ty == 'float' else repr(float(x)) for x in v) + '};')


if __name__ == '__main__':
    g = globals()
    for nm in ['A_Y', 'B_Y', 'C_Y', 'D_Y', 'E_Y', 'F_Y', 'E_P', 'F_P', 'G_P', 'H_Y', 'H_P']:
        mat(nm.lower(), g[nm], 'uint8_t')
    for nm in ['A_Z', 'B_P', 'C_Z', 'D_Z']:
        mat(nm.lower(), g[nm], 'float')
    for nm in ['B_W', 'C_W', 'E_W']:
        vec(nm.lower(), g[nm], 'float')
    for nm in ['B_T', 'D_T']:
        vec(nm.lower(), g[nm], 'double')
    names = ['A_Y', 'A_Z', 'B_Y', 'B_P', 'B_T', 'B_W', 'C_Y', 'C_Z', 'C_W', 'D_Y', 'D_Z',
             'D_T', 'E_Y', 'E_P', 'E_W', 'F_Y', 'F_P', 'G_P', 'H_Y', 'H_P']
    def arg(x):
        for nm in names:
            if g[nm] is x: return nm
        return repr(x)
    for r in runs:
        print()
        print(f"/* golden({', '.join(arg(x) for x in r)}) */")
        emit(r[0], golden(*r))
