using BenchmarkDotNet.Running;
using MarketplaceMetering.Benchmarks;

// dotnet run -c Release --project tests/MarketplaceMetering.Benchmarks -- --filter '*'      BenchmarkDotNet (OverheadBenchmarks: no network)
// dotnet run -c Release --project tests/MarketplaceMetering.Benchmarks -- throughput [N] [M] [R]    the throughput program (N bulk events, M single calls, R rounds)
// dotnet run -c Release --project tests/MarketplaceMetering.Benchmarks -- allocations single|batch|bulk client|baseline [calls]
//                                                                                             sampled allocations by type
// dotnet run -c Release --project tests/MarketplaceMetering.Benchmarks -- recordasync [N] [callers]   durable RecordAsync throughput
if (args.Length > 0 && args[0] == "throughput")
{
    return await Throughput.RunAsync(args.Skip(1).ToArray());
}

if (args.Length > 0 && args[0] == "recordasync")
{
    return await DurableRecording.RunAsync(args.Skip(1).ToArray());
}

if (args.Length > 0 && args[0] == "allocations")
{
    return await Allocations.RunAsync(args.Skip(1).ToArray());
}

if (args.Length > 0 && args[0] == "verify")
{
    // Runs the end-to-end set-up once, outside BenchmarkDotNet: each sender's events must all be accepted.
    var benchmarks = new EndToEndBenchmarks();
    await benchmarks.SetupAsync();
    await benchmarks.CleanupAsync();
    Console.WriteLine("Every sender's events were accepted.");
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(Workload).Assembly).Run(args);
return 0;
