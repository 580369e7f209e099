//! [`List`]: a `Vec` that keeps a single item inline.
//!
//! Most SIP lists hold one item: one Via value per line, one Contact, one
//! `tag` parameter, one option tag. As `Vec`s each cost a heap allocation;
//! a `List` of one item costs none.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

/// A list of items, the first one stored inline. Compares, hashes and
/// prints like the slice of its items, whatever its representation.
#[derive(Clone)]
pub struct List<T>(Repr<T>);

#[derive(Clone)]
enum Repr<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> List<T> {
    /// An empty list.
    pub const fn new() -> Self {
        Self(Repr::Many(Vec::new()))
    }

    /// A list of one item (no allocation).
    pub const fn one(item: T) -> Self {
        Self(Repr::One(item))
    }

    /// The items.
    pub fn as_slice(&self) -> &[T] {
        match &self.0 {
            Repr::One(t) => std::slice::from_ref(t),
            Repr::Many(v) => v,
        }
    }

    /// The items, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        match &mut self.0 {
            Repr::One(t) => std::slice::from_mut(t),
            Repr::Many(v) => v,
        }
    }

    /// Appends an item.
    pub fn push(&mut self, item: T) {
        match &mut self.0 {
            Repr::Many(v) if v.is_empty() && v.capacity() == 0 => self.0 = Repr::One(item),
            Repr::Many(v) => v.push(item),
            Repr::One(_) => {
                let Repr::One(first) = std::mem::replace(&mut self.0, Repr::Many(Vec::new()))
                else {
                    return;
                };
                let mut v = Vec::with_capacity(4);
                v.push(first);
                v.push(item);
                self.0 = Repr::Many(v);
            }
        }
    }

    /// Removes and returns the item at `index`, `None` if there is none.
    pub fn remove(&mut self, index: usize) -> Option<T> {
        match &mut self.0 {
            Repr::Many(v) => (index < v.len()).then(|| v.remove(index)),
            Repr::One(_) if index == 0 => {
                match std::mem::replace(&mut self.0, Repr::Many(Vec::new())) {
                    Repr::One(t) => Some(t),
                    Repr::Many(_) => None,
                }
            }
            Repr::One(_) => None,
        }
    }

    /// Keeps only the items for which `f` is true.
    pub fn retain(&mut self, mut f: impl FnMut(&T) -> bool) {
        match &mut self.0 {
            Repr::Many(v) => v.retain(f),
            Repr::One(t) => {
                if !f(t) {
                    self.0 = Repr::Many(Vec::new());
                }
            }
        }
    }
}

impl<T> Default for List<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Deref for List<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T> DerefMut for List<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.as_mut_slice()
    }
}

impl<T> From<Vec<T>> for List<T> {
    fn from(mut v: Vec<T>) -> Self {
        if v.len() == 1
            && let Some(t) = v.pop()
        {
            return Self::one(t);
        }
        Self(Repr::Many(v))
    }
}

impl<T> From<List<T>> for Vec<T> {
    fn from(l: List<T>) -> Self {
        match l.0 {
            Repr::One(t) => vec![t],
            Repr::Many(v) => v,
        }
    }
}

impl<T> FromIterator<T> for List<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Vec::from_iter(iter).into()
    }
}

impl<'a, T> IntoIterator for &'a List<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl<T> IntoIterator for List<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        Vec::from(self).into_iter()
    }
}

impl<T: PartialEq> PartialEq for List<T> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: Eq> Eq for List<T> {}

impl<T: Hash> Hash for List<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl<T: fmt::Debug> fmt::Debug for List<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_vec_whatever_the_representation() {
        let mut l = List::new();
        assert!(l.is_empty());
        l.push(1);
        assert_eq!(l, List::from(vec![1]));
        l.push(2);
        l.push(3);
        assert_eq!(l.as_slice(), &[1, 2, 3]);
        assert_eq!(l.remove(0), Some(1));
        assert_eq!(l.remove(5), None);
        l.retain(|&x| x != 2);
        assert_eq!(l, List::one(3));
        assert_eq!(format!("{l:?}"), "[3]");
        let mut one = List::one(7);
        assert_eq!(one.remove(1), None);
        assert_eq!(one.remove(0), Some(7));
        assert!(one.is_empty());
        let collected: List<i32> = (0..4).collect();
        assert_eq!(Vec::from(collected), vec![0, 1, 2, 3]);
    }
}
