import Testing

@testable import MeshNode

/// Storage uploads are bounded: at, below and above the limit.
@Suite struct UploadSlotsTests {
    @Test func atMostUploadsMaxAtOnceAndSlotsComeBack() {
        let slots = UploadSlots()
        for _ in 0..<(UploadSlots.uploadsMax - 1) { #expect(slots.begin()) }
        #expect(slots.begin())  // the last one, at the limit
        #expect(!slots.begin())  // above it
        #expect(slots.inProgress == UploadSlots.uploadsMax)
        slots.end()
        #expect(slots.begin())
        for _ in 0..<(UploadSlots.uploadsMax + 3) { slots.end() }
        #expect(slots.inProgress == 0)
    }
}
