using System.Net;
using System.Net.Sockets;
using Azure;
using Microsoft.Identity.Client;

namespace MarketplaceMetering;

/// <summary>
/// A token could not be obtained for a reason that may pass (the identity endpoint unreachable, answering 5xx or 429,
/// a managed-identity endpoint still starting, a timeout). The pipeline retries it like a transient HTTP failure,
/// under the same policy and deadline; when the retries run out it becomes a retryable <see cref="MeteringException"/>.
/// The message is already redacted; the inner exception is attached only when it prints no secret.
/// </summary>
internal sealed class TokenUnavailableException(string message, Exception? innerException) : Exception(message, innerException);

/// <summary>Tells a failure to obtain a token that may pass from a definite refusal by the identity provider.</summary>
internal static class TokenFailure
{
    /// <summary>
    /// <see langword="true"/> when <paramref name="exception"/> (or an exception it wraps, as Azure.Identity's
    /// <c>AuthenticationFailedException</c> and <c>CredentialUnavailableException</c> do) is a network failure, a
    /// timeout, or an identity endpoint's 408, 429 or 5xx, and nothing in it is a definite refusal (an identity
    /// endpoint's 4xx such as <c>invalid_client</c> or <c>unauthorized_client</c>). Anything unrecognised is treated as
    /// a refusal: retrying what is not known to pass only delays the error.
    /// </summary>
    public static bool IsTransient(Exception exception)
    {
        var transient = false;
        foreach (var e in Chain(exception))
        {
            switch (e)
            {
                case MsalServiceException msal when msal.StatusCode is >= 400 and < 500 and not (408 or 429):
                    return false;
                case MsalServiceException msal when msal.StatusCode is 408 or 429 or >= 500 || msal.IsRetryable:
                    transient = true;
                    break;
                case MsalException { IsRetryable: true }:
                    transient = true;
                    break;
                case RequestFailedException failed when failed.Status is >= 400 and < 500 and not (408 or 429):
                    return false;
                case RequestFailedException failed when failed.Status is 0 or 408 or 429 or >= 500:
                    transient = true;
                    break;
                case HttpRequestException or IOException or SocketException or WebException or TimeoutException or OperationCanceledException:
                    transient = true;
                    break;
            }
        }

        return transient;
    }

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        var pending = new Stack<Exception>();
        pending.Push(exception);
        var seen = 0;
        while (pending.Count > 0 && seen++ < 32)
        {
            var e = pending.Pop();
            yield return e;
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions)
                {
                    pending.Push(inner);
                }
            }
            else if (e.InnerException is { } inner)
            {
                pending.Push(inner);
            }
        }
    }
}
