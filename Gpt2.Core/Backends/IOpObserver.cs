namespace Gpt2.Backends;

/// <summary>
/// Receives the time of every op a backend runs, for profiling. While an observer is set
/// (<see cref="ComputeBackend.Observer"/>) the backend waits for enqueued work before and after each op, so that
/// asynchronous GPU work is charged to the op that enqueued it; the waits cost time of their own.
/// </summary>
public interface IOpObserver
{
    /// <summary>Called after each op.</summary>
    /// <param name="op">The op's method name, for example <c>MatmulForward</c>.</param>
    /// <param name="operand">The shape of the op's main operand: a matmul's weight, otherwise its first tensor.</param>
    /// <param name="elapsed">Wall time, from the wait before the op to the wait after it.</param>
    /// <param name="flops">Floating-point operations, for the matmuls and attention; 0 where not counted.</param>
    void OnOpCompleted(string op, TensorShape operand, TimeSpan elapsed, double flops);
}
