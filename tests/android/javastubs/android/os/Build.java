package android.os;

public class Build {
    public static class VERSION {
        public static final int SDK_INT = sdk();

        private static int sdk() {
            throw new RuntimeException("Stub!");
        }
    }

    public static class VERSION_CODES {
        public static final int M = 23;
        public static final int N = 24;
        public static final int O = 26;
        public static final int O_MR1 = 27;
        public static final int Q = 29;
        public static final int R = 30;
        public static final int S = 31;
        public static final int TIRAMISU = 33;
    }
}
