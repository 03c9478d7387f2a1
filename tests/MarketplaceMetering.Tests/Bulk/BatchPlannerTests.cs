namespace MarketplaceMetering.Tests.Bulk;

public class BatchPlannerTests
{
    private static readonly DateTimeOffset Hour = new(2026, 11, 20, 9, 10, 0, TimeSpan.Zero);

    private static List<PlannedBatch> Plan(IEnumerable<UsageEvent> events)
    {
        var planner = new BatchPlanner();
        var ready = new List<PlannedBatch>();
        long i = 0;
        foreach (var e in events)
        {
            planner.Add(new IndexedEvent(i++, e), ready);
        }

        planner.Flush(ready);
        return ready;
    }

    [Fact]
    public void Add_60DistinctEvents_Makes25And25And10InInputOrder()
    {
        var events = Enumerable.Range(0, 60).Select(i => TestEvents.At(Hour, resource: TestEvents.ResourceNumber(i))).ToList();

        var batches = Plan(events);

        batches.Select(b => b.Count).Should().Equal(25, 25, 10);
        batches.SelectMany(b => b.Indices).Should().Equal(Enumerable.Range(0, 60).Select(i => (long)i));
        batches.SelectMany(b => b.Events).Should().Equal(events);
        batches.Should().OnlyContain(b => b.DependenciesCompleted().IsCompleted, "distinct keys need no ordering");
    }

    [Fact]
    public void Add_SameKeyRepeated_NeverTwiceInABatchAndLaterDependsOnEarlier()
    {
        var events = new[]
        {
            TestEvents.At(Hour, quantity: 1),
            TestEvents.At(Hour, quantity: 2, resource: TestEvents.ResourceNumber(1)),
            TestEvents.At(Hour.AddMinutes(5), quantity: 3),      // same key as [0]
            TestEvents.At(Hour.AddMinutes(9), quantity: 4),      // same key again
            TestEvents.At(Hour, quantity: 5, resource: TestEvents.ResourceNumber(2)),
        };

        var batches = Plan(events);

        batches.Should().OnlyContain(b => b.Events.Select(UsageEventKey.Of).Distinct().Count() == b.Count);
        var batchOf = batches.SelectMany(b => b.Indices.Select(index => (Index: index, Batch: b))).ToDictionary(x => x.Index, x => x.Batch);
        batchOf[0].Should().NotBeSameAs(batchOf[2]);
        batchOf[2].Should().NotBeSameAs(batchOf[3]);
        batches.IndexOf(batchOf[0]).Should().BeLessThan(batches.IndexOf(batchOf[2]));
        batches.IndexOf(batchOf[2]).Should().BeLessThan(batches.IndexOf(batchOf[3]));
        batchOf[2].DependenciesCompleted().IsCompleted.Should().BeFalse("it must wait for the batch holding event 0");
        batchOf[0].Complete();
        batchOf[2].DependenciesCompleted().IsCompleted.Should().BeTrue();
        batchOf[3].DependenciesCompleted().IsCompleted.Should().BeFalse();
    }

    [Fact]
    public void Add_TwoKeysEachTwice_TheSecondOfEachFillsTheSameLaterBatchNotANewOne()
    {
        // a, a, b, b, c: the second a opens batch 2; the second b finds batch 1 holding b and batch 2 free of it.
        var a = TestEvents.At(Hour, resource: TestEvents.ResourceNumber(1));
        var b = TestEvents.At(Hour, resource: TestEvents.ResourceNumber(2));
        var c = TestEvents.At(Hour, resource: TestEvents.ResourceNumber(3));

        var batches = Plan([a, a, b, b, c]);

        batches.Select(x => x.Indices.ToArray()).Should().BeEquivalentTo(new[] { new long[] { 0, 2, 4 }, new long[] { 1, 3 } }, o => o.WithStrictOrdering());
        batches[1].DependenciesCompleted().IsCompleted.Should().BeFalse("batch 2 repeats keys of batch 1");
        batches[0].Complete();
        batches[1].DependenciesCompleted().IsCompleted.Should().BeTrue();
    }

    [Fact]
    public void Add_OneKeyOverAndOver_KeepsAtMostTheOpenBatchLimit()
    {
        var planner = new BatchPlanner();
        var ready = new List<PlannedBatch>();
        for (var i = 0; i < 100; i++)
        {
            planner.Add(new IndexedEvent(i, TestEvents.At(Hour.AddSeconds(i))), ready);
        }

        ready.Should().HaveCount(100 - BatchPlanner.MaxOpenBatches, "each batch holds the key once; older ones are handed out partial");
        ready.Select(b => b.Number).Should().BeInAscendingOrder();
    }

    [Fact]
    public void Completed_ForgetsKeysOnlyWhenNoLaterBatchHoldsThem()
    {
        var planner = new BatchPlanner();
        var ready = new List<PlannedBatch>();
        planner.Add(new IndexedEvent(0, TestEvents.At(Hour)), ready);
        planner.Add(new IndexedEvent(1, TestEvents.At(Hour.AddMinutes(1))), ready);
        planner.Add(new IndexedEvent(2, TestEvents.At(Hour, resource: TestEvents.ResourceNumber(7))), ready);
        planner.Flush(ready);

        planner.TrackedKeys.Should().Be(2);
        planner.Completed(ready[0]);
        planner.TrackedKeys.Should().Be(1, "the repeated key is still held by the second batch");
        planner.Completed(ready[1]);
        planner.TrackedKeys.Should().Be(0);
    }
}
