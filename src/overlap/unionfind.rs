//! Union-find (disjoint sets) with path halving; the root of a set is its smallest index, so
//! the result does not depend on the order in which edges are merged.

/// Disjoint sets over `0..n`.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    /// `n` singleton sets.
    pub fn new(n: usize) -> UnionFind {
        UnionFind {
            parent: (0..n as u32).collect(),
        }
    }
    /// The representative (smallest member) of `x`'s set.
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = self.parent[x as usize];
        }
        x
    }
    /// Merges the sets of `a` and `b`.
    pub fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi as usize] = lo;
        }
    }
    /// For every element, its representative; every element then points straight at it.
    /// One pass in index order: a parent is never larger than its child (a set hangs from its
    /// smallest member, and path halving only moves a pointer up the tree), so the parent's
    /// root is known by the time the child is reached.
    pub fn roots(&mut self) -> Vec<u32> {
        let mut roots: Vec<u32> = Vec::with_capacity(self.parent.len());
        for (i, &p) in self.parent.iter().enumerate() {
            let r = if p as usize == i { p } else { roots[p as usize] };
            roots.push(r);
        }
        self.parent.copy_from_slice(&roots);
        roots
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_transitively_and_roots_are_minimal() {
        let mut uf = UnionFind::new(5);
        uf.union(4, 3);
        uf.union(3, 1);
        assert_eq!(uf.roots(), vec![0, 1, 2, 1, 1]);
    }

    #[test]
    fn roots_in_one_pass_are_what_find_gives() {
        let mut seed = 7u64;
        for n in [1usize, 2, 10, 300] {
            let mut uf = UnionFind::new(n);
            for round in 0..4 {
                for _ in 0..n / 3 + round {
                    let a = crate::entities::tagger::xorshift(&mut seed) % n as u64;
                    let b = crate::entities::tagger::xorshift(&mut seed) % n as u64;
                    uf.union(a as u32, b as u32);
                }
                let mut by_find = uf.clone();
                let want: Vec<u32> = (0..n as u32).map(|i| by_find.find(i)).collect();
                assert_eq!(uf.roots(), want);
                // and the sets are unchanged by it
                assert_eq!((0..n as u32).map(|i| uf.find(i)).collect::<Vec<_>>(), want);
            }
        }
    }
}
