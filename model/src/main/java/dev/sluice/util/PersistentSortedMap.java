package dev.sluice.util;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * An immutable map in key order whose {@link #with} and {@link #without} return a new map sharing
 * all but O(log n) nodes with this one (an AVL tree with path copying). For states handed from one
 * computation to the next, where the consumer compares the previous state with the new one key by
 * key: publishing a state after k changes costs O(k log n), not a copy of all n entries.
 *
 * <p>Reads ({@link #get}, iteration in key order) are safe from any thread: nothing is ever changed
 * after construction. The {@link Map} view is read-only.
 */
public final class PersistentSortedMap<K extends Comparable<? super K>, V> extends AbstractMap<K, V> {
    private static final PersistentSortedMap<?, ?> EMPTY = new PersistentSortedMap<>(null);

    private record Node<K, V>(K key, V value, Node<K, V> left, Node<K, V> right, int height, int size) implements Map.Entry<K, V> {
        @Override public K getKey() { return key; }

        @Override public V getValue() { return value; }

        @Override public V setValue(V v) { throw new UnsupportedOperationException("read-only"); }

        @Override public boolean equals(Object o) {
            return o instanceof Map.Entry<?, ?> e && key.equals(e.getKey()) && java.util.Objects.equals(value, e.getValue());
        }

        @Override public int hashCode() { return key.hashCode() ^ java.util.Objects.hashCode(value); }

        @Override public String toString() { return key + "=" + value; }
    }

    private final Node<K, V> root;

    private PersistentSortedMap(Node<K, V> root) { this.root = root; }

    @SuppressWarnings("unchecked")
    public static <K extends Comparable<? super K>, V> PersistentSortedMap<K, V> empty() { return (PersistentSortedMap<K, V>) EMPTY; }

    @Override public int size() { return root == null ? 0 : root.size; }

    @Override public boolean containsKey(Object key) { return find(key) != null; }

    @Override public V get(Object key) {
        Node<K, V> n = find(key);
        return n == null ? null : n.value;
    }

    @SuppressWarnings("unchecked")
    private Node<K, V> find(Object key) {
        if (key == null) return null;
        K k = (K) key;
        Node<K, V> n = root;
        while (n != null) {
            int c = k.compareTo(n.key);
            if (c == 0) return n;
            n = c < 0 ? n.left : n.right;
        }
        return null;
    }

    /** The entry at {@code index} in key order, in O(log n). */
    public Map.Entry<K, V> entryAt(int index) {
        if (index < 0 || index >= size()) throw new IndexOutOfBoundsException("index " + index + " of " + size());
        Node<K, V> n = root;
        while (true) {
            int l = size(n.left);
            if (index == l) return n;
            if (index < l) {
                n = n.left;
            } else {
                index -= l + 1;
                n = n.right;
            }
        }
    }

    /** What {@link #diff} reports, in key order. */
    public interface Differences<K, V> {
        void added(K key, V value);

        void removed(K key, V value);

        /** The same key with another value (by reference: a caller that wants equality checks it here). */
        void changed(K key, V before, V after);
    }

    /**
     * The differences from {@code before} to {@code after}, in key order. Subtrees the two maps
     * share (every one a change did not touch, when {@code after} was made from {@code before} by
     * {@link #with} and {@link #without}) are skipped by reference: k changes cost about k log n.
     */
    public static <K extends Comparable<? super K>, V> void diff(PersistentSortedMap<K, V> before, PersistentSortedMap<K, V> after,
                                                               Differences<K, V> out) {
        Cursor<K, V> a = new Cursor<>(before.root), b = new Cursor<>(after.root);
        while (true) {
            if (a.empty()) {
                while (!b.empty()) b.next(n -> out.added(n.key, n.value));
                return;
            }
            if (b.empty()) {
                while (!a.empty()) a.next(n -> out.removed(n.key, n.value));
                return;
            }
            Node<K, V> x = a.top(), y = b.top();
            boolean xs = a.single(), ys = b.single();
            if (!xs && !ys && x == y) {
                a.pop();
                b.pop();
            } else if (!xs && (ys || x.size >= y.size)) {
                a.expand();
            } else if (!ys) {
                b.expand();
            } else {
                int c = x.key.compareTo(y.key);
                if (c == 0) {
                    if (x.value != y.value) out.changed(x.key, x.value, y.value);
                    a.pop();
                    b.pop();
                } else if (c < 0) {
                    out.removed(x.key, x.value);
                    a.pop();
                } else {
                    out.added(y.key, y.value);
                    b.pop();
                }
            }
        }
    }

    /** An in-order walk that can hand out or skip whole subtrees: a stack of subtrees, and of nodes standing for themselves alone. */
    private static final class Cursor<K, V> {
        private final ArrayDeque<Node<K, V>> nodes = new ArrayDeque<>();
        private final java.util.BitSet single = new java.util.BitSet();

        Cursor(Node<K, V> root) {
            if (root != null) push(root, false);
        }

        private void push(Node<K, V> n, boolean alone) {
            single.set(nodes.size(), alone);
            nodes.push(n);
        }

        boolean empty() { return nodes.isEmpty(); }

        Node<K, V> top() { return nodes.peek(); }

        boolean single() { return single.get(nodes.size() - 1); }

        void pop() { nodes.pop(); }

        /** Replaces the top subtree with its left subtree, its root alone, its right subtree (left on top). */
        void expand() {
            Node<K, V> n = nodes.pop();
            if (n.right != null) push(n.right, false);
            push(n, true);
            if (n.left != null) push(n.left, false);
        }

        /** Hands the next entry in order to {@code f}. */
        void next(java.util.function.Consumer<Node<K, V>> f) {
            while (!single()) expand();
            f.accept(nodes.pop());
        }
    }

    /** This map with {@code key} mapped to {@code value} (this map itself when it already is). */
    public PersistentSortedMap<K, V> with(K key, V value) {
        if (key == null) throw new NullPointerException("key");
        Node<K, V> r = put(root, key, value);
        return r == root ? this : new PersistentSortedMap<>(r);
    }

    /** This map without {@code key} (this map itself when it has no such key). */
    public PersistentSortedMap<K, V> without(K key) {
        Node<K, V> r = remove(root, key);
        return r == root ? this : new PersistentSortedMap<>(r);
    }

    private static <K extends Comparable<? super K>, V> Node<K, V> put(Node<K, V> n, K key, V value) {
        if (n == null) return node(key, value, null, null);
        int c = key.compareTo(n.key);
        if (c == 0) return n.value == value ? n : new Node<>(n.key, value, n.left, n.right, n.height, n.size);
        if (c < 0) {
            Node<K, V> l = put(n.left, key, value);
            return l == n.left ? n : balance(n.key, n.value, l, n.right);
        }
        Node<K, V> r = put(n.right, key, value);
        return r == n.right ? n : balance(n.key, n.value, n.left, r);
    }

    private static <K extends Comparable<? super K>, V> Node<K, V> remove(Node<K, V> n, K key) {
        if (n == null) return null;
        int c = key.compareTo(n.key);
        if (c < 0) {
            Node<K, V> l = remove(n.left, key);
            return l == n.left ? n : balance(n.key, n.value, l, n.right);
        }
        if (c > 0) {
            Node<K, V> r = remove(n.right, key);
            return r == n.right ? n : balance(n.key, n.value, n.left, r);
        }
        if (n.left == null) return n.right;
        if (n.right == null) return n.left;
        Node<K, V> min = n.right;
        while (min.left != null) min = min.left;
        return balance(min.key, min.value, n.left, removeMin(n.right));
    }

    private static <K, V> Node<K, V> removeMin(Node<K, V> n) {
        if (n.left == null) return n.right;
        return balance(n.key, n.value, removeMin(n.left), n.right);
    }

    private static int height(Node<?, ?> n) { return n == null ? 0 : n.height; }

    private static int size(Node<?, ?> n) { return n == null ? 0 : n.size; }

    private static <K, V> Node<K, V> node(K k, V v, Node<K, V> l, Node<K, V> r) {
        return new Node<>(k, v, l, r, Math.max(height(l), height(r)) + 1, size(l) + size(r) + 1);
    }

    private static <K, V> Node<K, V> balance(K k, V v, Node<K, V> l, Node<K, V> r) {
        int hl = height(l), hr = height(r);
        if (hl > hr + 1) {
            if (height(l.left) >= height(l.right)) return node(l.key, l.value, l.left, node(k, v, l.right, r));
            return node(l.right.key, l.right.value, node(l.key, l.value, l.left, l.right.left), node(k, v, l.right.right, r));
        }
        if (hr > hl + 1) {
            if (height(r.right) >= height(r.left)) return node(r.key, r.value, node(k, v, l, r.left), r.right);
            return node(r.left.key, r.left.value, node(k, v, l, r.left.left), node(r.key, r.value, r.left.right, r.right));
        }
        return node(k, v, l, r);
    }

    /** The tree's height (for tests: at most about 1.44 log2(n + 2)). */
    int height() { return height(root); }

    @Override public Set<Map.Entry<K, V>> entrySet() {
        return new AbstractSet<>() {
            @Override public int size() { return PersistentSortedMap.this.size(); }

            @Override public boolean contains(Object o) {
                if (!(o instanceof Map.Entry<?, ?> e)) return false;
                Node<K, V> n = find(e.getKey());
                return n != null && java.util.Objects.equals(n.value, e.getValue());
            }

            @Override public Iterator<Map.Entry<K, V>> iterator() {
                return new Iterator<>() {
                    private final ArrayDeque<Node<K, V>> path = new ArrayDeque<>();

                    {
                        down(root);
                    }

                    private void down(Node<K, V> n) {
                        for (; n != null; n = n.left) path.push(n);
                    }

                    @Override public boolean hasNext() { return !path.isEmpty(); }

                    @Override public Map.Entry<K, V> next() {
                        if (path.isEmpty()) throw new NoSuchElementException();
                        Node<K, V> n = path.pop();
                        down(n.right);
                        return n;
                    }
                };
            }
        };
    }
}
