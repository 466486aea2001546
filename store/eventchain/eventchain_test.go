package eventchain

import "testing"

func id(n int64) *int64 { return &n }

// TestHashVectors pins the documented encoding: the values were computed by an independent
// implementation of the package documentation (Python's hashlib and struct), so a change to the
// hashed content cannot pass unnoticed.
func TestHashVectors(t *testing.T) {
	first := Link{ID: 1, At: 1772366400, Type: "user_created", UserID: id(7), Details: `{"role":"user","via":"cli"}`}
	if got, want := Hash(first), "8ae936a9c90a029b6980375b2efed52527c936b2d6c86bb1858a038c59352fa4"; got != want {
		t.Errorf("Hash(first) = %s, want %s", got, want)
	}
	second := Link{ID: 2, At: 1772366401, Type: "login_failed", ActorID: id(3), UserID: id(3), IP: "192.0.2.1",
		UserAgent: "Mozilla/5.0", Details: "{}", Prev: Hash(first)}
	if got, want := Hash(second), "0d328dd5d8d584f004d67e0dea25466e4b87b6ef97fce8d27aed68d783cd005d"; got != want {
		t.Errorf("Hash(second) = %s, want %s", got, want)
	}
}

// TestHashSeparatesFields: bytes moved from one field to its neighbour, a NULL id made 0, or a
// different previous hash each change the hash.
func TestHashSeparatesFields(t *testing.T) {
	base := Link{ID: 5, At: 100, Type: "t", IP: "ab", UserAgent: "c", Details: "{}", Prev: "p"}
	variants := map[string]Link{}
	v := base
	v.IP, v.UserAgent = "a", "bc"
	variants["ip/user agent boundary"] = v
	v = base
	v.ActorID = id(0)
	variants["null actor vs 0"] = v
	v = base
	v.ActorID, v.UserID = id(1), nil
	w := base
	w.ActorID, w.UserID = nil, id(1)
	variants["actor vs user"] = v
	variants["user vs actor"] = w
	v = base
	v.Prev = ""
	variants["previous hash"] = v
	v = base
	v.ID, v.At = 510, 0 // "5"+"100" and "510"+"0" would collide without the lengths
	variants["id/at boundary"] = v
	seen := map[string]string{Hash(base): "base"}
	for name, l := range variants {
		h := Hash(l)
		if other, ok := seen[h]; ok {
			t.Errorf("%s hashes like %s", name, other)
		}
		seen[h] = name
	}
}
