package replication

import (
	"os"
	"testing"

	"github.com/benbjohnson/litestream/file"
	"github.com/benbjohnson/litestream/s3"
)

// A replica URL becomes the client it names; S3's endpoint and region come from the AWS
// variables (the S3-specific endpoint first), and a set endpoint means path-style addressing.
func TestNewClient(t *testing.T) {
	for _, tt := range []struct {
		name, url string
		env       map[string]string
		bucket    string
		path      string
		endpoint  string
		region    string
		pathStyle bool
	}{
		{"AWS", "s3://backups/weftid/prod", map[string]string{"AWS_REGION": "eu-west-1"}, "backups", "weftid/prod", "", "eu-west-1", false},
		{"S3-compatible", "s3://backups/weftid/", map[string]string{"AWS_ENDPOINT_URL": "http://minio:9000", "AWS_DEFAULT_REGION": "garage"},
			"backups", "weftid", "http://minio:9000", "garage", true},
		{"the S3 endpoint wins", "s3://b/p", map[string]string{"AWS_ENDPOINT_URL": "http://general", "AWS_ENDPOINT_URL_S3": "http://s3-only",
			"AWS_REGION": "r1", "AWS_DEFAULT_REGION": "r2"}, "b", "p", "http://s3-only", "r1", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION"} {
				t.Setenv(name, tt.env[name])
			}
			c, err := newClient(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			sc, ok := c.(*s3.ReplicaClient)
			if !ok {
				t.Fatalf("client %T, want S3", c)
			}
			if sc.Bucket != tt.bucket || sc.Path != tt.path || sc.Endpoint != tt.endpoint || sc.Region != tt.region || sc.ForcePathStyle != tt.pathStyle {
				t.Errorf("bucket %q path %q endpoint %q region %q path-style %v; want %q %q %q %q %v",
					sc.Bucket, sc.Path, sc.Endpoint, sc.Region, sc.ForcePathStyle, tt.bucket, tt.path, tt.endpoint, tt.region, tt.pathStyle)
			}
		})
	}
	c, err := newClient("file:///var/backups/weftid/")
	if fc, ok := c.(*file.ReplicaClient); err != nil || !ok || fc.Path() != "/var/backups/weftid" {
		t.Errorf("file:///var/backups/weftid/: %T %v, want a file client of /var/backups/weftid", c, err)
	}
}

// AWS_CA_BUNDLE, which Litestream's S3 client cannot take, moves to SSL_CERT_FILE unless that is
// set already.
func TestUseCABundle(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "/etc/corp/ca.pem")
	t.Setenv("SSL_CERT_FILE", "")
	os.Unsetenv("SSL_CERT_FILE")
	useCABundle()
	if _, set := os.LookupEnv("AWS_CA_BUNDLE"); set || os.Getenv("SSL_CERT_FILE") != "/etc/corp/ca.pem" {
		t.Errorf("AWS_CA_BUNDLE %q, SSL_CERT_FILE %q; want unset and /etc/corp/ca.pem", os.Getenv("AWS_CA_BUNDLE"), os.Getenv("SSL_CERT_FILE"))
	}
	t.Setenv("AWS_CA_BUNDLE", "/etc/corp/ca.pem")
	t.Setenv("SSL_CERT_FILE", "/etc/ssl/mine.pem")
	useCABundle()
	if _, set := os.LookupEnv("AWS_CA_BUNDLE"); set || os.Getenv("SSL_CERT_FILE") != "/etc/ssl/mine.pem" {
		t.Errorf("AWS_CA_BUNDLE %q, SSL_CERT_FILE %q; want unset and the one set before", os.Getenv("AWS_CA_BUNDLE"), os.Getenv("SSL_CERT_FILE"))
	}
}
