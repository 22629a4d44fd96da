import MeshCore

/// One change to the state tree: a value to set, or nil to delete.
struct TreeUpdate: Sendable {
    var path: Hash256
    var key: [UInt8]
    var value: [UInt8]?
}

/// Applies a block's worth of changes to the state tree in one pass, producing the new nodes
/// and the ids of the nodes they replace. Each touched node is visited once, whatever the
/// number of updates below it.
struct TreeWriter {
    /// Reads a committed node.
    let load: (Int64) throws -> TreeNode
    /// The next free node id.
    private(set) var nextID: Int64
    /// New nodes, in creation order.
    private(set) var created: [(id: Int64, node: TreeNode)] = []
    /// Nodes of the old tree that the new tree no longer references.
    private(set) var replaced: [Int64] = []

    init(nextID: Int64, load: @escaping (Int64) throws -> TreeNode) {
        precondition(nextID > 0)
        self.nextID = nextID
        self.load = load
    }

    /// The new root after `updates` (sorted by path, one per path) are applied to `root`.
    mutating func apply(root: TreeChild?, updates: [TreeUpdate]) throws -> TreeChild? {
        for index in updates.indices.dropFirst() {
            precondition(updates[index - 1].path < updates[index].path, "updates must be sorted and unique")
        }
        return try update(root, depth: 0, updates[...])
    }

    private enum Item {
        case existing(TreeChild, path: Hash256)
        case new(TreeUpdate)

        var path: Hash256 {
            switch self {
            case .existing(_, let path): path
            case .new(let update): update.path
            }
        }
    }

    private mutating func update(
        _ child: TreeChild?, depth: Int, _ updates: ArraySlice<TreeUpdate>
    ) throws -> TreeChild? {
        guard !updates.isEmpty else { return child }
        precondition(depth < TreeHashing.depthMax)
        guard let child else {
            return build(depth: depth, updates.filter { $0.value != nil }.map(Item.new)[...])
        }
        switch try load(child.id) {
        case .leaf(let leaf):
            return mergeLeaf(child, leaf, depth: depth, updates)
        case .branch(let branch):
            let split = updates.partitioningIndex { $0.path.bit(at: depth) }
            let left = try update(branch.left, depth: depth + 1, updates[..<split])
            let right = try update(branch.right, depth: depth + 1, updates[split...])
            if left == branch.left && right == branch.right { return child }
            replaced.append(child.id)
            return combine(left, right)
        }
    }

    /// An existing leaf meets updates in its subtree: it is kept, replaced or deleted, and the
    /// others are inserted beside it.
    private mutating func mergeLeaf(
        _ child: TreeChild, _ leaf: TreeLeaf, depth: Int, _ updates: ArraySlice<TreeUpdate>
    ) -> TreeChild? {
        var items: [Item] = []
        items.reserveCapacity(updates.count + 1)
        var existingHandled = false
        for update in updates {
            if !existingHandled && leaf.path < update.path {
                items.append(.existing(child, path: leaf.path))
                existingHandled = true
            }
            if update.path == leaf.path {
                existingHandled = true
                if update.value == leaf.value {
                    items.append(.existing(child, path: leaf.path))
                    continue
                }
                replaced.append(child.id)
            }
            if update.value != nil { items.append(.new(update)) }
        }
        if !existingHandled { items.append(.existing(child, path: leaf.path)) }
        return build(depth: depth, items[...])
    }

    /// The subtree at `depth` holding exactly `items` (sorted by path).
    private mutating func build(depth: Int, _ items: ArraySlice<Item>) -> TreeChild? {
        guard let first = items.first else { return nil }
        if items.count == 1 {
            switch first {
            case .existing(let child, _): return child
            case .new(let update):
                return store(.leaf(TreeLeaf(path: update.path, key: update.key, value: update.value ?? [])))
            }
        }
        precondition(depth < TreeHashing.depthMax, "two keys with one path")
        let split = items.partitioningIndex { $0.path.bit(at: depth) }
        let left = build(depth: depth + 1, items[..<split])
        let right = build(depth: depth + 1, items[split...])
        return combine(left, right)
    }

    /// A branch over two subtrees, or the lone leaf lifted up, or nothing.
    private mutating func combine(_ left: TreeChild?, _ right: TreeChild?) -> TreeChild? {
        switch (left, right) {
        case (nil, nil): return nil
        case (let only?, nil) where only.isLeaf, (nil, let only?) where only.isLeaf: return only
        default: return store(.branch(TreeBranch(left: left, right: right)))
        }
    }

    private mutating func store(_ node: TreeNode) -> TreeChild {
        let id = nextID
        nextID += 1
        created.append((id, node))
        switch node {
        case .leaf(let leaf): return TreeChild(id: id, hash: leaf.hash, isLeaf: true)
        case .branch(let branch): return TreeChild(id: id, hash: branch.hash, isLeaf: false)
        }
    }
}

extension Collection {
    /// The first index whose element satisfies `predicate`, for a collection in which every
    /// element failing it comes before every element satisfying it (binary search).
    func partitioningIndex(where predicate: (Element) -> Bool) -> Index {
        var low = startIndex
        var count = self.count
        while count > 0 {
            let half = count / 2
            let middle = index(low, offsetBy: half)
            if predicate(self[middle]) {
                count = half
            } else {
                low = index(after: middle)
                count -= half + 1
            }
        }
        return low
    }
}
