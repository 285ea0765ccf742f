package dev.sluice.hubble;

import io.grpc.stub.ServerCallStreamObserver;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The sending side of one server-streaming call, for a thread of its own: {@link #send} waits for
 * the client's flow control (gRPC's onReady), so that a slow client holds up only this thread,
 * and gives up once the call is cancelled. Create it before the handler returns: it registers the
 * call's ready and cancel handlers ({@code onCancel} runs too when the client goes away).
 */
public final class StreamSender<T> {
    private final ServerCallStreamObserver<T> call;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition readyOrCancelled = lock.newCondition();
    private volatile boolean cancelled;

    public StreamSender(ServerCallStreamObserver<T> call, Runnable onCancel) {
        this.call = call;
        call.setOnReadyHandler(this::signal);
        call.setOnCancelHandler(() -> {
            cancelled = true;
            signal();
            onCancel.run();
        });
    }

    private void signal() {
        lock.lock();
        try {
            readyOrCancelled.signalAll();
        } finally {
            lock.unlock();
        }
    }

    public boolean cancelled() { return cancelled || call.isCancelled(); }

    /** Sends once the client can take it; false: the client went away. */
    public boolean send(T message) throws InterruptedException {
        lock.lock();
        try {
            while (!cancelled && !call.isReady()) readyOrCancelled.await(200, TimeUnit.MILLISECONDS);
        } finally {
            lock.unlock();
        }
        if (cancelled()) return false;
        try {
            call.onNext(message);
            return true;
        } catch (RuntimeException e) {
            return false;   // cancelled meanwhile
        }
    }

    public void complete() {
        if (!cancelled()) call.onCompleted();
    }

    public void fail(Throwable t) {
        if (!cancelled()) call.onError(t);
    }
}
