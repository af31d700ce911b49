// dotnet run -c Release --project tests/Labeling.Benchmarks -- storage [options]   (boxes/s, queue messages/s)
// dotnet run -c Release --project tests/Labeling.Benchmarks -- detector [options]  (decode + preprocess, detector batches)
// dotnet run -c Release --project tests/Labeling.Benchmarks -- pipeline [options]  (end-to-end labelling vs the sum of its stages, worker memory)
// dotnet run -c Release --project tests/Labeling.Benchmarks -- trainer [options]   (ms per training step at 1 and 2 threads, export + parity time)
// dotnet run -c Release --project tests/Labeling.Benchmarks -- shapes [options]    (train on generated shapes, label held-out images with the workers, AP50)
// dotnet run -c Release --project tests/Labeling.Benchmarks -- ingest [options]    (what hashing every new image costs the inbox scan)
// dotnet run -c Release --project tests/Labeling.Benchmarks -- openworld [options] (train on the synthetic open world, COCO AP on its gold split: ablations)
return args.FirstOrDefault() switch
{
    "storage" => await Labeling.Benchmarks.StorageBenchmarks.RunAsync(args[1..]),
    "detector" => Labeling.Benchmarks.DetectorBenchmarks.Run(args[1..]),
    "pipeline" => await Labeling.Benchmarks.PipelineBenchmarks.RunAsync(args[1..]),
    "trainer" => Labeling.Benchmarks.TrainerBenchmarks.Run(args[1..]),
    "shapes" => await Labeling.Benchmarks.ShapesDemo.RunAsync(args[1..]),
    "ingest" => await Labeling.Benchmarks.IngestBenchmarks.RunAsync(args[1..]),
    "openworld" => await Labeling.Benchmarks.OpenWorldAblation.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Labeling.Benchmarks storage [--boxes N] [--messages N] [--rounds N] [--images-per-call N] [--without-indexes]");
    Console.Error.WriteLine("       Labeling.Benchmarks detector [--iterations N] [--threads N]");
    Console.Error.WriteLine("       Labeling.Benchmarks pipeline [--images N] [--batch N]");
    Console.Error.WriteLine("       Labeling.Benchmarks trainer [--steps N] [--rounds N] [--preset small]");
    Console.Error.WriteLine("       Labeling.Benchmarks shapes [--train N] [--test N] [--steps N] [--threads N] [--keep DIR]");
    Console.Error.WriteLine("       Labeling.Benchmarks ingest [--images N] [--kib S]");
    Console.Error.WriteLine("       Labeling.Benchmarks openworld [--base N] [--tagged N] [--tags all|base] [--gold N] [--steps N] [--oracle] [--cls-weight X] [--soft X] [--detic X] [--detic-proposal largest|objectness] [--tag-batches N] [--lr X]");
    return 2;
}
