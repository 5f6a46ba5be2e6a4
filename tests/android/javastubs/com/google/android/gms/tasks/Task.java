package com.google.android.gms.tasks;

import androidx.annotation.NonNull;

public abstract class Task<TResult> {
    @NonNull
    public Task<TResult> addOnCompleteListener(@NonNull OnCompleteListener<TResult> listener) {
        throw new RuntimeException("Stub!");
    }

    public abstract boolean isSuccessful();

    public abstract TResult getResult();

    public abstract Exception getException();
}
