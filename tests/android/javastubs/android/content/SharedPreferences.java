package android.content;

public interface SharedPreferences {
    interface Editor {
        Editor putString(String key, String value);

        Editor remove(String key);

        void apply();
    }

    String getString(String key, String defValue);

    Editor edit();
}
