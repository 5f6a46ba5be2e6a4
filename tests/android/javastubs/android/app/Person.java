package android.app;

public final class Person {
    public static final class Builder {
        public Builder() {
            throw new RuntimeException("Stub!");
        }

        public Builder setName(CharSequence name) {
            throw new RuntimeException("Stub!");
        }

        public Builder setImportant(boolean isImportant) {
            throw new RuntimeException("Stub!");
        }

        public Person build() {
            throw new RuntimeException("Stub!");
        }
    }
}
