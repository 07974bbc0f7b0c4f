// Package awsclient builds the aws-sdk-go-v2 S3 and SQS clients from one
// configuration, pointed at AWS or at S3- and SQS-compatible endpoints.
package awsclient

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Config selects the region and, for compatible servers, the endpoints.
// With empty endpoints the clients use AWS and the default credential chain.
type Config struct {
	Region      string
	S3Endpoint  string // e.g. http://127.0.0.1:9000; enables path-style addressing
	SQSEndpoint string
	// StaticCredentials, when set, replaces the default credential chain;
	// compatible servers accept any key.
	StaticCredentials bool
}

// Clients holds one S3 and one SQS client. Both are safe for concurrent use.
type Clients struct {
	S3  *s3.Client
	SQS *sqs.Client
}

// s3IdleConnections is how many idle connections the S3 client keeps. An
// origin reads up to 16 objects at once in each of its queue workers (4 by
// default), and the SDK's default of 10 made most reads open and close a
// connection of their own.
const s3IdleConnections = 64

// New builds the clients. Each has its own connection pool, so the churn of
// object reads never touches the queue's long polls.
func New(ctx context.Context, cfg Config) (Clients, error) {
	opts := []func(*config.LoadOptions) error{config.WithRegion(cfg.Region)}
	if cfg.StaticCredentials {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}

	awsConfig, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return Clients{}, fmt.Errorf("loading AWS configuration: %w", err)
	}

	s3Client := s3.NewFromConfig(awsConfig, func(o *s3.Options) {
		// Objects that providers write without a checksum are read all the
		// same, and the SDK would otherwise print a line for each one.
		o.DisableLogOutputChecksumValidationSkipped = true
		o.HTTPClient = readOnlyBodies{awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = s3IdleConnections
		})}
		if cfg.S3Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.S3Endpoint)
			o.UsePathStyle = true
		}
	})
	sqsClient := sqs.NewFromConfig(awsConfig, func(o *sqs.Options) {
		o.HTTPClient = readOnlyBodies{awshttp.NewBuildableClient()}
		if cfg.SQSEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.SQSEndpoint)
		}
	})
	return Clients{S3: s3Client, SQS: sqsClient}, nil
}
