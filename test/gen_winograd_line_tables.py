"""gen_winograd_line_tables.py - derives the F(4, 7) matrices of
lib/winograd_line.c and checks them.

Toom-Cook construction for the points 0, 1, -1, 2, -2, 1/2, -1/2, 3/2, -3/2
and infinity, in exact fractions: A^T [4][10] evaluates the output
polynomial, G [10][7] the filter (divided by the Lagrange denominators),
B^T [10][10] is what makes A^T [(G g) . (B^T d)] the correlation of d with g.
Prints the three tables and fails unless the identity holds exactly for
every input and tap.
Run: /usr/bin/python3 test/gen_winograd_line_tables.py
"""
from fractions import Fraction

RUN, TAPS = 4, 7
HALF, THREE_HALVES = Fraction(1, 2), Fraction(3, 2)
POINTS = [0, 1, -1, 2, -2, HALF, -HALF, THREE_HALVES, -THREE_HALVES]


def solve(a, b):
    """Gauss-Jordan elimination in fractions: x with a x = b."""
    n = len(a)
    m = [row[:] + [v] for row, v in zip(a, b)]
    for c in range(n):
        p = next(r for r in range(c, n) if m[r][c] != 0)
        m[c], m[p] = m[p], m[c]
        for r in range(n):
            if r != c and m[r][c] != 0:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c])]
    return [m[i][n] / m[i][i] for i in range(n)]


def derive():
    alpha = RUN + TAPS - 1
    denom = []
    for j, p in enumerate(POINTS):
        d = Fraction(1)
        for k, q in enumerate(POINTS):
            if k != j:
                d *= p - q
        denom.append(d)
    at = [[Fraction(p) ** i for p in POINTS] + [Fraction(int(i == RUN - 1))]
          for i in range(RUN)]
    g = [[Fraction(p) ** k / denom[j] for k in range(TAPS)]
         for j, p in enumerate(POINTS)]
    g.append([Fraction(int(k == TAPS - 1)) for k in range(TAPS)])
    # w[s][j]: how point j contributes to the output's power s
    w = [[Fraction(POINTS[j]) ** s / denom[j] if j < alpha - 1
          else Fraction(int(s == alpha - 1)) for j in range(alpha)]
         for s in range(alpha)]
    cols = [solve(w, [Fraction(int(s == t)) for s in range(alpha)])
            for t in range(alpha)]
    bt = [[cols[t][j] for t in range(alpha)] for j in range(alpha)]
    for i in range(RUN):
        for k in range(TAPS):
            for t in range(alpha):
                v = sum(at[i][j] * g[j][k] * bt[j][t] for j in range(alpha))
                assert v == int(t == i + k), (i, k, t, v)
    return at, g, bt


def main():
    at, g, bt = derive()
    for name, table in (("BT", bt), ("G", g), ("AT", at)):
        print(name)
        for row in table:
            print("  {" + ", ".join(str(v) for v in row) + "},")
    print("A^T [(G g) . (B^T d)] = d correlated with g: exact")


if __name__ == "__main__":
    main()
