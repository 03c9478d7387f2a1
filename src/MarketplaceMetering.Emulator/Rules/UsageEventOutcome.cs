namespace MarketplaceMetering.Emulator.Rules;

/// <summary>What the rules decided for one usage event.</summary>
internal abstract record UsageEventOutcome(UsageEventInput Input)
{
    /// <summary>The status string the service answers with.</summary>
    public abstract string Status { get; }

    /// <summary>The event was accepted and recorded as <paramref name="Entry"/>.</summary>
    /// <param name="Input">The event as sent.</param>
    /// <param name="Entry">The ledger entry.</param>
    /// <param name="AnswerUri">The resource URI to answer with.</param>
    public sealed record Accepted(UsageEventInput Input, LedgerEntry Entry, string AnswerUri) : UsageEventOutcome(Input)
    {
        public override string Status => EventStatus.Accepted;
    }

    /// <summary>An event for the same resource, dimension and hour was accepted before: <paramref name="Original"/>.</summary>
    /// <param name="Input">The event as sent.</param>
    /// <param name="AnswerUri">The resource URI to answer the original with: the one it was accepted with.</param>
    /// <param name="Original">The event accepted first.</param>
    /// <param name="MessageTime">When this duplicate was refused, by the emulator's clock.</param>
    public sealed record Duplicate(UsageEventInput Input, string AnswerUri, LedgerEntry Original, DateTimeOffset MessageTime) : UsageEventOutcome(Input)
    {
        public override string Status => EventStatus.Duplicate;
    }

    /// <summary>The event broke a rule.</summary>
    /// <param name="Input">The event as sent.</param>
    /// <param name="Code">The status: <see cref="EventStatus.BadArgument"/>, <see cref="EventStatus.Expired"/>, …</param>
    /// <param name="Target">The wire name of the field at fault.</param>
    /// <param name="Message">What was wrong.</param>
    public sealed record Rejected(UsageEventInput Input, string Code, string Target, string Message) : UsageEventOutcome(Input)
    {
        public override string Status => Code;
    }
}
