package identity

import (
	"context"
	"errors"
	"testing"
)

func TestAccountUsable(t *testing.T) {
	accounts := map[string]*Account{
		"root": {ID: "root", Enabled: true},
		"res":  {ID: "res", Tree: []string{"root"}, Enabled: true},
		"off":  {ID: "off", Tree: []string{"root"}, Enabled: false},
	}
	boom := errors.New("database down")
	get := func(_ context.Context, id string) (*Account, error) {
		if id == "broken" {
			return nil, boom
		}
		if a, ok := accounts[id]; ok {
			return a, nil
		}
		return nil, ErrNotFound
	}
	tests := []struct {
		name    string
		a       *Account
		want    bool
		wantErr error
	}{
		{"enabled root", accounts["root"], true, nil},
		{"enabled under enabled", &Account{ID: "c", Tree: []string{"root", "res"}, Enabled: true}, true, nil},
		{"disabled itself", &Account{ID: "c", Tree: []string{"root", "res"}}, false, nil},
		{"parent disabled", &Account{ID: "c", Tree: []string{"root", "off"}, Enabled: true}, false, nil},
		{"grandparent disabled", &Account{ID: "c", Tree: []string{"root", "off", "res"}, Enabled: true}, false, nil},
		{"ancestor gone", &Account{ID: "c", Tree: []string{"root", "gone"}, Enabled: true}, false, nil},
		{"ancestor unreadable", &Account{ID: "c", Tree: []string{"root", "broken"}, Enabled: true}, false, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AccountUsable(context.Background(), tt.a, get)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("AccountUsable = %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
