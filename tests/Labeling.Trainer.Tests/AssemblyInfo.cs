// libtorch's random generator is process-wide: tests that seed it (model initialisation, the
// repeatable-training and parity tests) must not interleave with other tests drawing from it.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
