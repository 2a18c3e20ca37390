package audian_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"testing"

	"github.com/audian/audian"
	"github.com/audian/audian/internal/sdktest"
)

// The examples run against a real server started in-process. In your
// program, serverURL is your server's address and caPEM is needed only
// when its certificate is self-signed.
var (
	serverURL string
	apiKey    string
	password  string
	caPEM     []byte
)

func TestMain(m *testing.M) {
	srv, err := sdktest.Start()
	if err != nil {
		log.Fatal(err)
	}
	serverURL, apiKey, password, caPEM = srv.URL, srv.APIKey, srv.Password, srv.CACert
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

// Log in with an API key, list the users of the account and create one.
func Example() {
	ctx := context.Background()
	c, err := audian.NewClient(serverURL, audian.WithAPIKey(apiKey), audian.WithCACert(caPEM))
	if err != nil {
		log.Fatal(err)
	}
	for u, err := range c.Users.List(ctx, "", nil) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(u.Username, u.PrivLevel)
	}
	u, err := c.Users.Create(ctx, "", &audian.User{FirstName: "Ada", LastName: "Lovelace", Username: "ada", Password: "analytical engine"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created", u.Username)
	// Output:
	// admin admin
	// created ada
}

// Log in as a user of an account, with a password.
func ExampleWithCredentials() {
	ctx := context.Background()
	c, err := audian.NewClient(serverURL, audian.WithCredentials("Root", "admin", password), audian.WithCACert(caPEM))
	if err != nil {
		log.Fatal(err)
	}
	acct, err := c.Accounts.Get(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(acct.Name)
	// Output: Root
}

// Create a named API key for a CI job: its secret is shown this once.
func ExampleKeysService_Create() {
	ctx := context.Background()
	c, err := audian.NewClient(serverURL, audian.WithAPIKey(apiKey), audian.WithCACert(caPEM))
	if err != nil {
		log.Fatal(err)
	}
	k, err := c.Keys.Create(ctx, "", audian.NewKey{Name: "ci", Scopes: []string{"users:read"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(k.Name, k.Scopes, len(k.Secret))
	// The secret works at once, and stops when the key is revoked.
	ci, _ := audian.NewClient(serverURL, audian.WithAPIKey(k.Secret), audian.WithCACert(caPEM))
	if _, err := ci.Login(ctx); err != nil {
		log.Fatal(err)
	}
	if err := c.Keys.Revoke(ctx, "", k.ID); err != nil {
		log.Fatal(err)
	}
	_, err = ci.Login(ctx)
	fmt.Println(errors.Is(err, audian.ErrUnauthorized))
	// Output:
	// ci [users:read] 64
	// true
}

// Every failure reply is an *audian.Error; errors.Is tells the kinds
// apart and Error carries the server's explanation.
func ExampleError() {
	ctx := context.Background()
	c, _ := audian.NewClient(serverURL, audian.WithAPIKey(apiKey), audian.WithCACert(caPEM))
	_, err := c.Users.Get(ctx, "", "0123456789abcdef0123456789abcdef")
	fmt.Println(errors.Is(err, audian.ErrNotFound))

	_, err = c.Users.Create(ctx, "", &audian.User{FirstName: "No last name"})
	var e *audian.Error
	if errors.As(err, &e) {
		fmt.Println(e.StatusCode, e.Detail())
	}
	// Output:
	// true
	// 400 last_name: Field is required but missing
}

// Page through a long list: the iterator fetches the next page as the
// loop reaches it, and stops fetching when the loop stops.
func ExampleUsersService_List() {
	ctx := context.Background()
	c, _ := audian.NewClient(serverURL, audian.WithAPIKey(apiKey), audian.WithCACert(caPEM))
	admins := &audian.ListOptions{PageSize: 100, Filters: map[string]string{"filter_priv_level": "admin"}}
	n := 0
	for _, err := range c.Users.List(ctx, "", admins) {
		if err != nil {
			log.Fatal(err)
		}
		n++
	}
	fmt.Println(n, "admin")
	// Output: 1 admin
}
