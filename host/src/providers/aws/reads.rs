//! Reads that many nodes' looks share: what one call can answer for many
//! names ([`super::batch`]), and the account's own ARNs, from one STS call.

use aws_sdk_cloudwatch::types::{AlarmType, CompositeAlarm, MetricAlarm};
use aws_sdk_cloudwatchlogs::types::LogGroup;

use super::AwsProvider;
use crate::providers::{ErrorClass, ProviderError, ProviderResult};

/// DescribeAlarms: "AlarmNames ... Maximum number of 100 items", and
/// `MaxRecords` 1 to 100 (CloudWatch API Reference, DescribeAlarms).
pub(super) const DESCRIBE_ALARMS_NAMES: usize = 100;

/// DescribeLogGroups: `logGroupIdentifiers` "Array Members: Minimum number of
/// 1 item. Maximum number of 50 items" (CloudWatch Logs API Reference,
/// DescribeLogGroups).
pub(super) const DESCRIBE_LOG_GROUPS_IDENTIFIERS: usize = 50;

/// Batched calls of one kind in flight at once: two, so a read that arrives
/// alone is not held back by one slow call, and the reads that arrive while
/// both are out gather into the next.
pub(super) const BATCHED_CALLS_IN_FLIGHT: usize = 2;

/// What one DescribeAlarms (all its pages) answered, metric and composite.
#[derive(Default)]
pub struct Alarms {
    pub metric: Vec<MetricAlarm>,
    pub composite: Vec<CompositeAlarm>,
}

impl Alarms {
    pub fn metric_alarm(&self, name: &str) -> Option<&MetricAlarm> {
        self.metric.iter().find(|a| a.alarm_name() == Some(name))
    }

    pub fn composite_alarm(&self, name: &str) -> Option<&CompositeAlarm> {
        self.composite.iter().find(|a| a.alarm_name() == Some(name))
    }
}

impl AwsProvider {
    /// The alarm named `name` (metric or composite), read in one
    /// DescribeAlarms with the other alarms asked for at the same moment (a
    /// plan's, a refresh's) — one call where there would be a hundred, and
    /// DescribeAlarms is paced at 9 a second.
    pub(super) async fn alarm_named(
        &self,
        name: &str,
        address: &str,
    ) -> ProviderResult<std::sync::Arc<Alarms>> {
        self.alarms
            .read(name.to_owned(), address, |gathered| async move {
                let mut read = Alarms::default();
                let mut token: Option<String> = None;
                loop {
                    let page = self
                        .call(address, || {
                            self.cloudwatch
                                .describe_alarms()
                                .set_alarm_names(Some(gathered.keys()))
                                // Without AlarmTypes only metric alarms are answered.
                                .alarm_types(AlarmType::MetricAlarm)
                                .alarm_types(AlarmType::CompositeAlarm)
                                .max_records(DESCRIBE_ALARMS_NAMES as i32)
                                .set_next_token(token.clone())
                                .send()
                        })
                        .await?;
                    read.metric.extend(page.metric_alarms().iter().cloned());
                    read.composite
                        .extend(page.composite_alarms().iter().cloned());
                    token = page.next_token().map(str::to_owned);
                    if token.is_none() {
                        return Ok(read);
                    }
                }
            })
            .await
    }

    /// The log group named `name`, read in one DescribeLogGroups by
    /// `logGroupIdentifiers` with the others asked for at the same moment.
    /// Where the account refuses names there (a cross-account monitoring
    /// account takes ARNs), the group is read alone by its name as a prefix.
    pub(super) async fn log_group_named(
        &self,
        name: &str,
        address: &str,
    ) -> ProviderResult<Option<LogGroup>> {
        let read = self
            .log_groups
            .read(name.to_owned(), address, |gathered| async move {
                let mut groups = Vec::new();
                let mut token: Option<String> = None;
                loop {
                    let page = self
                        .call(address, || {
                            self.logs
                                .describe_log_groups()
                                .set_log_group_identifiers(Some(gathered.keys()))
                                .set_next_token(token.clone())
                                .send()
                        })
                        .await?;
                    groups.extend(page.log_groups().iter().cloned());
                    token = page.next_token().map(str::to_owned);
                    if token.is_none() {
                        return Ok(groups);
                    }
                }
            })
            .await;
        let named = |groups: &[LogGroup]| {
            groups
                .iter()
                .find(|g| g.log_group_name() == Some(name))
                .cloned()
        };
        match read {
            Ok(groups) => Ok(named(groups.as_slice())),
            Err(e) if e.class == ErrorClass::Invalid => {
                // The exact name sorts first among the names it prefixes, so
                // the first page holds it if it exists.
                let out = super::optional(
                    self.call(address, || {
                        self.logs
                            .describe_log_groups()
                            .log_group_name_prefix(name)
                            .send()
                    })
                    .await,
                )?;
                Ok(out.and_then(|o| named(o.log_groups())))
            }
            Err(e) => Err(e),
        }
    }

    /// The credentials' partition and account, from STS GetCallerIdentity
    /// (which needs no permission), asked once: by [`Self::ask_account_early`]
    /// or by the first read that needs it, whichever comes first.
    async fn principal(&self, address: &str) -> ProviderResult<&(String, String)> {
        self.principal
            .get_or_try_init(|| async {
                let who = self
                    .call(address, || self.sts.get_caller_identity().send())
                    .await?;
                let partition = who
                    .arn()
                    .and_then(|arn| arn.split(':').nth(1))
                    .filter(|p| !p.is_empty())
                    .unwrap_or("aws");
                match who.account() {
                    Some(account) if !account.is_empty() => {
                        Ok((partition.to_owned(), account.to_owned()))
                    }
                    _ => Err(ProviderError::new(
                        ErrorClass::Invalid,
                        format!("{address}: STS GetCallerIdentity named no account"),
                    )),
                }
            })
            .await
    }

    /// Ask STS for the account now, in the background: a topic's look needs
    /// it to name the topic's ARN, and would otherwise wait for one more call
    /// in turn. A failure here is only the next asker's to retry and report.
    pub fn ask_account_early(self: &std::sync::Arc<Self>) {
        let aws = self.clone();
        tokio::spawn(async move {
            let _ = aws.principal("the AWS account").await;
        });
    }

    /// The ARN of a resource of this account and region (`service`, then
    /// `resource` as the service spells it): what an object's name makes its
    /// ARN, so one read of it replaces a listing.
    pub(super) async fn arn_in_account(
        &self,
        address: &str,
        service: &str,
        resource: &str,
    ) -> ProviderResult<String> {
        let (partition, account) = self.principal(address).await?;
        Ok(format!(
            "arn:{partition}:{service}:{}:{account}:{resource}",
            self.region
        ))
    }
}
